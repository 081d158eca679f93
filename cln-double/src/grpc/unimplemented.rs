//! Every method of cln-grpc's `Node` service that the double does not serve: each answers
//! UNIMPLEMENTED. Generated from the trait in cln-grpc 0.7.0's generated code (node.proto), so
//! that the double runs the real generated `NodeServer` (routing, codec, status handling).

/// One stub per `name(Request) -> Response;` line, in the shape `#[async_trait]` gives the
/// trait's methods (an attribute macro does not reach into a macro call inside the impl).
macro_rules! unary_stubs {
    ($($name:ident($req:ident) -> $resp:ident;)*) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            _request: tonic::Request<cln_grpc::pb::$req>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<
            Output = Result<tonic::Response<cln_grpc::pb::$resp>, tonic::Status>,
        > + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                Err(tonic::Status::unimplemented(concat!("the CLN double does not serve ", stringify!($name))))
            })
        }
    )*};
}

/// The same for server-streaming methods, with an empty stream type.
macro_rules! stream_stubs {
    ($($name:ident($req:ident) -> $stream:ident($item:ident);)*) => {$(
        type $stream = tokio_stream::Empty<Result<cln_grpc::pb::$item, tonic::Status>>;
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            _request: tonic::Request<cln_grpc::pb::$req>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<
            Output = Result<tonic::Response<Self::$stream>, tonic::Status>,
        > + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                Err(tonic::Status::unimplemented(concat!("the CLN double does not serve ", stringify!($name))))
            })
        }
    )*};
}

/// The methods the double does not serve, for inside `impl node_server::Node`.
macro_rules! unimplemented_node_methods {
    () => {
        unary_stubs! {
            list_peers(ListpeersRequest) -> ListpeersResponse;
            list_funds(ListfundsRequest) -> ListfundsResponse;
            send_pay(SendpayRequest) -> SendpayResponse;
            list_channels(ListchannelsRequest) -> ListchannelsResponse;
            add_gossip(AddgossipRequest) -> AddgossipResponse;
            add_psbt_output(AddpsbtoutputRequest) -> AddpsbtoutputResponse;
            auto_clean_once(AutocleanonceRequest) -> AutocleanonceResponse;
            auto_clean_status(AutocleanstatusRequest) -> AutocleanstatusResponse;
            check_message(CheckmessageRequest) -> CheckmessageResponse;
            close(CloseRequest) -> CloseResponse;
            connect_peer(ConnectRequest) -> ConnectResponse;
            create_invoice(CreateinvoiceRequest) -> CreateinvoiceResponse;
            datastore(DatastoreRequest) -> DatastoreResponse;
            datastore_usage(DatastoreusageRequest) -> DatastoreusageResponse;
            create_onion(CreateonionRequest) -> CreateonionResponse;
            del_datastore(DeldatastoreRequest) -> DeldatastoreResponse;
            del_invoice(DelinvoiceRequest) -> DelinvoiceResponse;
            dev_forget_channel(DevforgetchannelRequest) -> DevforgetchannelResponse;
            emergency_recover(EmergencyrecoverRequest) -> EmergencyrecoverResponse;
            get_emergency_recover_data(GetemergencyrecoverdataRequest) -> GetemergencyrecoverdataResponse;
            expose_secret(ExposesecretRequest) -> ExposesecretResponse;
            recover(RecoverRequest) -> RecoverResponse;
            recover_channel(RecoverchannelRequest) -> RecoverchannelResponse;
            invoice(InvoiceRequest) -> InvoiceResponse;
            list_datastore(ListdatastoreRequest) -> ListdatastoreResponse;
            list_invoices(ListinvoicesRequest) -> ListinvoicesResponse;
            send_onion(SendonionRequest) -> SendonionResponse;
            list_transactions(ListtransactionsRequest) -> ListtransactionsResponse;
            make_secret(MakesecretRequest) -> MakesecretResponse;
            pay(PayRequest) -> PayResponse;
            list_nodes(ListnodesRequest) -> ListnodesResponse;
            wait_any_invoice(WaitanyinvoiceRequest) -> WaitanyinvoiceResponse;
            wait_invoice(WaitinvoiceRequest) -> WaitinvoiceResponse;
            wait_send_pay(WaitsendpayRequest) -> WaitsendpayResponse;
            new_addr(NewaddrRequest) -> NewaddrResponse;
            withdraw(WithdrawRequest) -> WithdrawResponse;
            key_send(KeysendRequest) -> KeysendResponse;
            fund_psbt(FundpsbtRequest) -> FundpsbtResponse;
            send_psbt(SendpsbtRequest) -> SendpsbtResponse;
            sign_psbt(SignpsbtRequest) -> SignpsbtResponse;
            utxo_psbt(UtxopsbtRequest) -> UtxopsbtResponse;
            tx_discard(TxdiscardRequest) -> TxdiscardResponse;
            tx_prepare(TxprepareRequest) -> TxprepareResponse;
            tx_send(TxsendRequest) -> TxsendResponse;
            list_peer_channels(ListpeerchannelsRequest) -> ListpeerchannelsResponse;
            list_closed_channels(ListclosedchannelsRequest) -> ListclosedchannelsResponse;
            decode(DecodeRequest) -> DecodeResponse;
            del_pay(DelpayRequest) -> DelpayResponse;
            del_forward(DelforwardRequest) -> DelforwardResponse;
            disable_offer(DisableofferRequest) -> DisableofferResponse;
            enable_offer(EnableofferRequest) -> EnableofferResponse;
            disconnect(DisconnectRequest) -> DisconnectResponse;
            feerates(FeeratesRequest) -> FeeratesResponse;
            fetch_bip353(Fetchbip353Request) -> Fetchbip353Response;
            fetch_invoice(FetchinvoiceRequest) -> FetchinvoiceResponse;
            cancel_recurring_invoice(CancelrecurringinvoiceRequest) -> CancelrecurringinvoiceResponse;
            fund_channel_cancel(FundchannelCancelRequest) -> FundchannelCancelResponse;
            fund_channel_complete(FundchannelCompleteRequest) -> FundchannelCompleteResponse;
            fund_channel(FundchannelRequest) -> FundchannelResponse;
            fund_channel_start(FundchannelStartRequest) -> FundchannelStartResponse;
            get_log(GetlogRequest) -> GetlogResponse;
            funder_update(FunderupdateRequest) -> FunderupdateResponse;
            get_route(GetrouteRequest) -> GetrouteResponse;
            list_addresses(ListaddressesRequest) -> ListaddressesResponse;
            list_forwards(ListforwardsRequest) -> ListforwardsResponse;
            list_offers(ListoffersRequest) -> ListoffersResponse;
            list_pays(ListpaysRequest) -> ListpaysResponse;
            list_htlcs(ListhtlcsRequest) -> ListhtlcsResponse;
            multi_fund_channel(MultifundchannelRequest) -> MultifundchannelResponse;
            multi_withdraw(MultiwithdrawRequest) -> MultiwithdrawResponse;
            offer(OfferRequest) -> OfferResponse;
            open_channel_abort(OpenchannelAbortRequest) -> OpenchannelAbortResponse;
            open_channel_bump(OpenchannelBumpRequest) -> OpenchannelBumpResponse;
            open_channel_init(OpenchannelInitRequest) -> OpenchannelInitResponse;
            open_channel_signed(OpenchannelSignedRequest) -> OpenchannelSignedResponse;
            open_channel_update(OpenchannelUpdateRequest) -> OpenchannelUpdateResponse;
            ping(PingRequest) -> PingResponse;
            plugin(PluginRequest) -> PluginResponse;
            rene_pay_status(RenepaystatusRequest) -> RenepaystatusResponse;
            rene_pay(RenepayRequest) -> RenepayResponse;
            reserve_inputs(ReserveinputsRequest) -> ReserveinputsResponse;
            send_custom_msg(SendcustommsgRequest) -> SendcustommsgResponse;
            send_invoice(SendinvoiceRequest) -> SendinvoiceResponse;
            set_channel(SetchannelRequest) -> SetchannelResponse;
            set_config(SetconfigRequest) -> SetconfigResponse;
            set_psbt_version(SetpsbtversionRequest) -> SetpsbtversionResponse;
            sign_invoice(SigninvoiceRequest) -> SigninvoiceResponse;
            sign_message(SignmessageRequest) -> SignmessageResponse;
            splice_init(SpliceInitRequest) -> SpliceInitResponse;
            splice_signed(SpliceSignedRequest) -> SpliceSignedResponse;
            splice_update(SpliceUpdateRequest) -> SpliceUpdateResponse;
            splice_in(SpliceinRequest) -> SpliceinResponse;
            splice_out(SpliceoutRequest) -> SpliceoutResponse;
            dev_splice(DevspliceRequest) -> DevspliceResponse;
            unreserve_inputs(UnreserveinputsRequest) -> UnreserveinputsResponse;
            upgrade_wallet(UpgradewalletRequest) -> UpgradewalletResponse;
            wait_block_height(WaitblockheightRequest) -> WaitblockheightResponse;
            list_configs(ListconfigsRequest) -> ListconfigsResponse;
            stop(StopRequest) -> StopResponse;
            help(HelpRequest) -> HelpResponse;
            pre_approve_keysend(PreapprovekeysendRequest) -> PreapprovekeysendResponse;
            pre_approve_invoice(PreapproveinvoiceRequest) -> PreapproveinvoiceResponse;
            static_backup(StaticbackupRequest) -> StaticbackupResponse;
            bkpr_channels_apy(BkprchannelsapyRequest) -> BkprchannelsapyResponse;
            bkpr_dump_income_csv(BkprdumpincomecsvRequest) -> BkprdumpincomecsvResponse;
            bkpr_inspect(BkprinspectRequest) -> BkprinspectResponse;
            bkpr_list_account_events(BkprlistaccounteventsRequest) -> BkprlistaccounteventsResponse;
            bkpr_list_balances(BkprlistbalancesRequest) -> BkprlistbalancesResponse;
            bkpr_list_income(BkprlistincomeRequest) -> BkprlistincomeResponse;
            bkpr_edit_description_by_payment_id(BkpreditdescriptionbypaymentidRequest) -> BkpreditdescriptionbypaymentidResponse;
            bkpr_edit_description_by_outpoint(BkpreditdescriptionbyoutpointRequest) -> BkpreditdescriptionbyoutpointResponse;
            bkpr_report(BkprreportRequest) -> BkprreportResponse;
            blacklist_rune(BlacklistruneRequest) -> BlacklistruneResponse;
            check_rune(CheckruneRequest) -> CheckruneResponse;
            create_rune(CreateruneRequest) -> CreateruneResponse;
            show_runes(ShowrunesRequest) -> ShowrunesResponse;
            ask_rene_unreserve(AskreneunreserveRequest) -> AskreneunreserveResponse;
            ask_rene_list_layers(AskrenelistlayersRequest) -> AskrenelistlayersResponse;
            ask_rene_create_layer(AskrenecreatelayerRequest) -> AskrenecreatelayerResponse;
            ask_rene_remove_layer(AskreneremovelayerRequest) -> AskreneremovelayerResponse;
            ask_rene_remove_channel_update(AskreneremovechannelupdateRequest) -> AskreneremovechannelupdateResponse;
            ask_rene_reserve(AskrenereserveRequest) -> AskrenereserveResponse;
            ask_rene_age(AskreneageRequest) -> AskreneageResponse;
            get_routes(GetroutesRequest) -> GetroutesResponse;
            ask_rene_disable_node(AskrenedisablenodeRequest) -> AskrenedisablenodeResponse;
            ask_rene_inform_channel(AskreneinformchannelRequest) -> AskreneinformchannelResponse;
            ask_rene_create_channel(AskrenecreatechannelRequest) -> AskrenecreatechannelResponse;
            ask_rene_update_channel(AskreneupdatechannelRequest) -> AskreneupdatechannelResponse;
            ask_rene_bias_channel(AskrenebiaschannelRequest) -> AskrenebiaschannelResponse;
            askrene_bias_node(AskrenebiasnodeRequest) -> AskrenebiasnodeResponse;
            ask_rene_list_reservations(AskrenelistreservationsRequest) -> AskrenelistreservationsResponse;
            inject_payment_onion(InjectpaymentonionRequest) -> InjectpaymentonionResponse;
            inject_onion_message(InjectonionmessageRequest) -> InjectonionmessageResponse;
            xpay(XpayRequest) -> XpayResponse;
            sign_message_with_key(SignmessagewithkeyRequest) -> SignmessagewithkeyResponse;
            list_channel_moves(ListchannelmovesRequest) -> ListchannelmovesResponse;
            list_chain_moves(ListchainmovesRequest) -> ListchainmovesResponse;
            list_network_events(ListnetworkeventsRequest) -> ListnetworkeventsResponse;
            del_network_event(DelnetworkeventRequest) -> DelnetworkeventResponse;
            clnrest_register_path(ClnrestregisterpathRequest) -> ClnrestregisterpathResponse;
            list_currency_rates(ListcurrencyratesRequest) -> ListcurrencyratesResponse;
            currency_convert(CurrencyconvertRequest) -> CurrencyconvertResponse;
            currency_rate(CurrencyrateRequest) -> CurrencyrateResponse;
            send_amount(SendamountRequest) -> SendamountResponse;
            create_proof(CreateproofRequest) -> CreateproofResponse;
            xkeysend(XkeysendRequest) -> XkeysendResponse;
            graceful(GracefulRequest) -> GracefulResponse;
        }
        stream_stubs! {
            subscribe_balance_snapshot(StreamBalanceSnapshotRequest) -> SubscribeBalanceSnapshotStream(BalanceSnapshotNotification);
            subscribe_block_added(StreamBlockAddedRequest) -> SubscribeBlockAddedStream(BlockAddedNotification);
            subscribe_channel_open_failed(StreamChannelOpenFailedRequest) -> SubscribeChannelOpenFailedStream(ChannelOpenFailedNotification);
            subscribe_channel_opened(StreamChannelOpenedRequest) -> SubscribeChannelOpenedStream(ChannelOpenedNotification);
            subscribe_channel_state_changed(StreamChannelStateChangedRequest) -> SubscribeChannelStateChangedStream(ChannelStateChangedNotification);
            subscribe_connect(StreamConnectRequest) -> SubscribeConnectStream(PeerConnectNotification);
            subscribe_coin_movement(StreamCoinMovementRequest) -> SubscribeCoinMovementStream(CoinMovementNotification);
            subscribe_custom_msg(StreamCustomMsgRequest) -> SubscribeCustomMsgStream(CustomMsgNotification);
            subscribe_deprecated_oneshot(StreamDeprecatedOneshotRequest) -> SubscribeDeprecatedOneshotStream(DeprecatedOneshotNotification);
            subscribe_disconnect(StreamDisconnectRequest) -> SubscribeDisconnectStream(DisconnectNotification);
            subscribe_forward_event(StreamForwardEventRequest) -> SubscribeForwardEventStream(ForwardEventNotification);
            subscribe_invoice_creation(StreamInvoiceCreationRequest) -> SubscribeInvoiceCreationStream(InvoiceCreationNotification);
            subscribe_invoice_payment(StreamInvoicePaymentRequest) -> SubscribeInvoicePaymentStream(InvoicePaymentNotification);
            subscribe_log(StreamLogRequest) -> SubscribeLogStream(LogNotification);
            subscribe_onion_message_forward_fail(StreamOnionMessageForwardFailRequest) -> SubscribeOnionMessageForwardFailStream(OnionMessageForwardFailNotification);
            subscribe_open_channel_peer_sigs(StreamOpenChannelPeerSigsRequest) -> SubscribeOpenChannelPeerSigsStream(OpenChannelPeerSigsNotification);
            subscribe_plugin_started(StreamPluginStartedRequest) -> SubscribePluginStartedStream(PluginStartedNotification);
            subscribe_plugin_stopped(StreamPluginStoppedRequest) -> SubscribePluginStoppedStream(PluginStoppedNotification);
            subscribe_send_pay_failure(StreamSendPayFailureRequest) -> SubscribeSendPayFailureStream(SendPayFailureNotification);
            subscribe_send_pay_success(StreamSendPaySuccessRequest) -> SubscribeSendPaySuccessStream(SendPaySuccessNotification);
            subscribe_shutdown(StreamShutdownRequest) -> SubscribeShutdownStream(ShutdownNotification);
            subscribe_warning(StreamWarningRequest) -> SubscribeWarningStream(WarningNotification);
            subscribe_pay_part_end(StreamPayPartEndRequest) -> SubscribePayPartEndStream(PayPartEndNotification);
            subscribe_pay_part_start(StreamPayPartStartRequest) -> SubscribePayPartStartStream(PayPartStartNotification);
        }
    };
}
