//! Which name `createinvoicerequest` gives its label: `recurrence_label` up to v26.06.x, `label`
//! on later nodes (CLN commit 4348d8acf). Chosen from `getinfo.version`.

/// The label parameter's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelParam {
    /// v26.06.x and older.
    RecurrenceLabel,
    /// Newer than v26.06.
    Label,
}

impl LabelParam {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            LabelParam::RecurrenceLabel => "recurrence_label",
            LabelParam::Label => "label",
        }
    }

    /// The other name (for the one retry on -32602).
    pub fn other(self) -> Self {
        match self {
            LabelParam::RecurrenceLabel => LabelParam::Label,
            LabelParam::Label => LabelParam::RecurrenceLabel,
        }
    }

    /// Chooses by `getinfo.version`: `v26.06`, `v26.06.6`, `v26.06.6-modded` and older tags take
    /// `recurrence_label`; later versions and development builds past v26.06
    /// (`v26.06-258-g090f4b0e6`) take `label`; an unreadable version takes the released name.
    pub fn for_version(version: &str) -> Self {
        let Some((major, minor, past_tag)) = parse(version) else {
            return LabelParam::RecurrenceLabel;
        };
        if (major, minor) > (26, 6) || ((major, minor) == (26, 6) && past_tag) {
            LabelParam::Label
        } else {
            LabelParam::RecurrenceLabel
        }
    }
}

/// `vMAJOR.MINOR[.PATCH][-N-gHASH][-suffix]` → (major, minor, whether commits follow the tag).
fn parse(version: &str) -> Option<(u32, u32, bool)> {
    let v = version.trim().strip_prefix('v').unwrap_or(version.trim());
    let (numbers, rest) = v.split_once('-').unwrap_or((v, ""));
    let mut parts = numbers.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    // git describe: "<commits>-g<hash>" after the tag.
    let past_tag = rest
        .split_once('-')
        .is_some_and(|(n, h)| n.parse::<u32>().is_ok_and(|n| n > 0) && h.starts_with('g'));
    Some((major, minor, past_tag))
}

#[cfg(test)]
mod tests {
    use super::LabelParam::{self, Label, RecurrenceLabel};

    #[test]
    fn label_name_follows_the_version() {
        for (v, want) in [
            ("v26.06.6-modded", RecurrenceLabel),
            ("v26.06.6", RecurrenceLabel),
            ("v26.06", RecurrenceLabel),
            ("v25.09.1", RecurrenceLabel),
            ("v24.11", RecurrenceLabel),
            ("v26.06-258-g090f4b0e6", Label),
            ("v26.06-258-g090f4b0e6-modded", Label),
            ("v26.09", Label),
            ("v27.03.1-modded", Label),
            ("garbage", RecurrenceLabel),
        ] {
            assert_eq!(LabelParam::for_version(v), want, "{v}");
        }
    }
}
