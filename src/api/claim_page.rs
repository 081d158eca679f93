//! The claim page's HTML: plain server-rendered markup, every value escaped, no inline script or
//! style (the page's Content-Security-Policy allows neither), the script and style sheet served
//! from the same origin (`/claim/assets/…`). Everything the page needs is on it without script;
//! the script adds the live status, the countdown, local times and the copy button.

use std::fmt::Write;

use crate::service::ClaimView;
use crate::service::Status;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1234567` → `"1,234,567"`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount for people: `"10,000 sat"`, and when not whole also the msat
/// (`"10,000.5 sat"`, `Some("10,000,500 msat")`).
pub fn format_amount(msat: u64) -> (String, Option<String>) {
    let (sat, rest) = (msat / 1000, msat % 1000);
    if rest == 0 {
        return (format!("{} sat", grouped(sat)), None);
    }
    let frac = format!("{rest:03}");
    let frac = frac.trim_end_matches('0');
    (
        format!("{}.{frac} sat", grouped(sat)),
        Some(format!("{} msat", grouped(msat))),
    )
}

/// Seconds since 1970 → `(year, month, day, hour, minute, second)` in UTC (proleptic
/// Gregorian; H. Hinnant's `civil_from_days`).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `"2026-11-30 18:05 UTC"`.
pub fn format_utc(secs: u64) -> String {
    let (y, mo, d, h, mi, _) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// `"2026-11-30T18:05:09Z"` (for `<time datetime>`).
pub fn format_iso(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The status line of a request, as the page shows it (the script uses the same words).
pub fn status_text(status: Status, paid_at: Option<u64>) -> String {
    match status {
        Status::Open => "Ready to claim".into(),
        Status::Paying => "Payment on its way…".into(),
        Status::Paid => match paid_at {
            Some(t) => format!("Paid on {}", format_utc(t)),
            None => "Paid".into(),
        },
        Status::Disabled => "Withdrawn by the sender".into(),
        Status::Expired => "Expired".into(),
        Status::Pending => "Being prepared".into(),
        Status::Failed => "Could not be prepared".into(),
    }
}

const HEAD: &str = concat!(
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<meta name=\"robots\" content=\"noindex, nofollow\">\n",
    "<meta name=\"referrer\" content=\"no-referrer\">\n",
);

/// The asset paths, relative to `/claim/<token>` (so the page works under any path prefix a
/// reverse proxy mounts it at). The version busts caches across upgrades.
const CSS: &str = concat!("assets/claim.css?v=", env!("CARGO_PKG_VERSION"));
const JS: &str = concat!("assets/claim.js?v=", env!("CARGO_PKG_VERSION"));

/// The page of a claimable (or claimed) request.
///
/// `qr_side` is the QR image's side in CSS pixels; `now` the server's time (seconds since
/// 1970), which the script uses to correct the countdown for a wrong device clock.
pub fn render_page(token: &str, view: &ClaimView, qr_side: u32, now: u64) -> String {
    let r = &view.record;
    let (amount, amount_msat) = format_amount(r.amount_msat);
    let terminal = matches!(
        r.status,
        Status::Paid | Status::Disabled | Status::Expired | Status::Failed
    );
    let token = escape(token);
    let mut h = String::with_capacity(4096 + 2 * r.bolt12.len());
    h.push_str(HEAD);
    let _ = write!(
        h,
        "<title>Claim {amount}</title>\n<link rel=\"stylesheet\" href=\"{CSS}\">\n<script src=\"{JS}\" defer></script>\n</head>\n<body>\n",
    );
    let _ = writeln!(
        h,
        "<main id=\"claim\" class=\"card\" data-token=\"{token}\" data-status=\"{status}\" data-now=\"{now}\"{expiry}{paid}>",
        status = r.status.as_str(),
        expiry = r
            .absolute_expiry
            .map(|e| format!(" data-expiry=\"{e}\""))
            .unwrap_or_default(),
        paid = view
            .paid_at
            .map(|p| format!(" data-paid-at=\"{p}\""))
            .unwrap_or_default(),
    );
    h.push_str("<header>\n");
    if let Some(issuer) = &r.issuer {
        let _ = writeln!(
            h,
            "<p class=\"issuer\">From <strong id=\"issuer\">{}</strong></p>",
            escape(issuer)
        );
    }
    let _ = writeln!(
        h,
        "<h1><span class=\"lead\">You can claim</span> <span id=\"amount\">{amount}</span></h1>"
    );
    if let Some(m) = amount_msat {
        let _ = writeln!(h, "<p id=\"amount-msat\" class=\"sub\">{m}</p>");
    }
    let _ = writeln!(
        h,
        "<p id=\"description\" class=\"description\">{}</p>\n</header>",
        escape(&r.description)
    );
    let _ = writeln!(
        h,
        "<p id=\"status\" class=\"status\" role=\"status\" aria-live=\"polite\" data-status=\"{}\">{}</p>",
        r.status.as_str(),
        escape(&status_text(r.status, view.paid_at)),
    );
    if let Some(e) = r.absolute_expiry {
        let _ = writeln!(
            h,
            "<p id=\"expiry-line\" class=\"expiry\"{hidden}>Claim before <time id=\"expiry\" datetime=\"{}\">{}</time> <span id=\"countdown\" class=\"sub\"></span></p>",
            format_iso(e),
            format_utc(e),
            hidden = if terminal { " hidden" } else { "" },
        );
    }
    let _ = writeln!(
        h,
        "<section id=\"claim-actions\" aria-label=\"Claim with your wallet\"{hidden}>",
        hidden = if terminal { " hidden" } else { "" },
    );
    let _ = writeln!(
        h,
        "<figure class=\"qr\"><img id=\"qr\" src=\"{token}/qr.svg\" width=\"{qr_side}\" height=\"{qr_side}\" alt=\"QR code of the payment request below\">\
         <figcaption>Scan with a Lightning wallet that supports BOLT12 offers.</figcaption></figure>"
    );
    let lnr = escape(&r.bolt12);
    let _ = writeln!(
        h,
        "<p class=\"actions\"><a id=\"open-wallet\" class=\"button\" href=\"lightning:{lnr}\">Open in wallet</a> \
         <button type=\"button\" id=\"copy\" class=\"button secondary\" hidden>Copy request</button></p>\n\
         <p id=\"copy-result\" class=\"sub\" role=\"status\" aria-live=\"polite\"></p>\n\
         <label for=\"lnr\">Payment request (BOLT12)</label>\n\
         <textarea id=\"lnr\" readonly rows=\"4\" spellcheck=\"false\" autocapitalize=\"off\" autocomplete=\"off\">{lnr}</textarea>"
    );
    h.push_str("</section>\n");
    h.push_str(
        "<details class=\"help\"><summary>How does this work?</summary>\
         <p>The sender has promised you this amount over the Lightning Network. Open your wallet, \
         scan the code or paste the request: your wallet sends the sender an invoice, and the \
         sender's node pays it within seconds. This page updates by itself.</p></details>\n",
    );
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// A short page for a link that leads nowhere usable (unknown, revoked, expired…).
pub fn render_notice(title: &str, message: &str, refresh_secs: Option<u32>) -> String {
    let mut h = String::with_capacity(1024);
    h.push_str(HEAD);
    if let Some(s) = refresh_secs {
        let _ = writeln!(h, "<meta http-equiv=\"refresh\" content=\"{s}\">");
    }
    let _ = write!(
        h,
        "<title>{t}</title>\n<link rel=\"stylesheet\" href=\"{css}\">\n</head>\n<body>\n\
         <main class=\"card notice\">\n<h1>{t}</h1>\n<p>{m}</p>\n</main>\n</body>\n</html>\n",
        t = escape(title),
        m = escape(message),
        css = CSS,
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn amounts() {
        assert_eq!(format_amount(10_000_000), ("10,000 sat".into(), None));
        assert_eq!(format_amount(1_000), ("1 sat".into(), None));
        assert_eq!(
            format_amount(10_000_500),
            ("10,000.5 sat".into(), Some("10,000,500 msat".into()))
        );
        assert_eq!(
            format_amount(1),
            ("0.001 sat".into(), Some("1 msat".into()))
        );
        assert_eq!(
            format_amount(2_100_000_000_000_000_000),
            ("2,100,000,000,000,000 sat".into(), None)
        );
    }

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_iso(1_764_115_200), "2025-11-26T00:00:00Z");
        assert_eq!(format_iso(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
