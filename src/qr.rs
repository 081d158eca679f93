//! QR codes of `lnr1…` strings, as SVG or PNG.
//!
//! The string goes into the code in upper case: BOLT12 readers accept an all-uppercase string
//! (bech32, as BOLT12 §Encoding says), and upper case lets the code use the alphanumeric mode
//! (5.5 bits a character instead of 8), so the same request gives a smaller, easier code.
//! Error correction is M (15 % of the code may be damaged) while that gives version 25
//! (117 × 117 modules) or less; a longer request drops to L, which keeps the largest request the
//! default limits allow (2,336 characters) at version 29 (133 × 133 modules), which a phone
//! camera reads when shown a few centimetres wide. Every image has the 4-module quiet zone.
//!
//! Encoding: `qrcode` (ISO/IEC 18004); PNG: `png`, 1 bit per pixel.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Modules of quiet zone on each side (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;
/// Above this version, L is used instead of M (when L gives a smaller code).
pub const MAX_VERSION_AT_M: i16 = 25;
/// Smallest `size` accepted, pixels.
pub const MIN_SIZE: u32 = 64;
/// Largest `size` accepted, pixels.
pub const MAX_SIZE: u32 = 2048;
/// `size` when none is given, pixels.
pub const DEFAULT_SIZE: u32 = 384;

/// An image format (`svg` or `png` in a query string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QrFormat {
    /// `image/svg+xml`.
    Svg,
    /// `image/png`, 1-bit grayscale.
    Png,
}

impl QrFormat {
    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            QrFormat::Svg => "image/svg+xml",
            QrFormat::Png => "image/png",
        }
    }
}

/// Why no code could be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The text does not fit in a version 40 code (not reachable with BOLT12 strings within the
    /// server's limits, but never a panic).
    #[error("the text is too long for a QR code: {0}")]
    TooLong(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// A QR code of one string.
pub struct Qr {
    code: QrCode,
}

impl Qr {
    /// Encodes `lnr` (upper-cased) with the error correction described in the module docs.
    ///
    /// # Errors
    /// [`QrError::TooLong`] past version 40 at level L.
    pub fn of_bolt12(lnr: &str) -> Result<Self, QrError> {
        let text = lnr.to_ascii_uppercase();
        let at = |level| {
            QrCode::with_error_correction_level(text.as_bytes(), level)
                .map_err(|e| QrError::TooLong(e.to_string()))
        };
        let code = match at(EcLevel::M) {
            Ok(m) if version_number(&m) <= MAX_VERSION_AT_M => m,
            _ => at(EcLevel::L)?,
        };
        Ok(Self { code })
    }

    /// The QR version (1 to 40).
    pub fn version(&self) -> i16 {
        version_number(&self.code)
    }

    /// The error correction level.
    pub fn ec_level(&self) -> EcLevel {
        self.code.error_correction_level()
    }

    /// Modules on a side, without the quiet zone.
    pub fn modules(&self) -> usize {
        self.code.width()
    }

    /// Pixels a module takes for an image at least `size` pixels wide (whole pixels: sharp
    /// edges for cameras).
    pub fn module_pixels(&self, size: u32) -> u32 {
        let side = (self.modules() + 2 * QUIET_ZONE) as u32;
        size.div_ceil(side).max(1)
    }

    /// Side of the image for `size`, pixels: the smallest whole-pixel-module image at least
    /// `size` wide.
    pub fn image_side(&self, size: u32) -> u32 {
        (self.modules() + 2 * QUIET_ZONE) as u32 * self.module_pixels(size)
    }

    /// An SVG image at least `size` pixels wide, black on white.
    pub fn svg(&self, size: u32) -> String {
        let px = self.module_pixels(size);
        self.code
            .render::<svg::Color>()
            .quiet_zone(true)
            .module_dimensions(px, px)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build()
    }

    /// A PNG image (1-bit grayscale) at least `size` pixels wide, black on white.
    ///
    /// # Errors
    /// [`QrError::Png`] if the encoder fails.
    pub fn png(&self, size: u32) -> Result<Vec<u8>, QrError> {
        let px = self.module_pixels(size) as usize;
        let modules = self.modules();
        let side_modules = modules + 2 * QUIET_ZONE;
        let side = side_modules * px;
        let row_bytes = side.div_ceil(8);
        let colors = self.code.to_colors();
        // 1 = white, 0 = black (grayscale, 1 bit); start all white.
        let mut data = vec![0xffu8; row_bytes * side];
        for y in 0..side {
            let my = y / px;
            if my < QUIET_ZONE || my >= QUIET_ZONE + modules {
                continue;
            }
            for x in 0..side {
                let mx = x / px;
                if mx < QUIET_ZONE || mx >= QUIET_ZONE + modules {
                    continue;
                }
                let dark = colors[(my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)] == Color::Dark;
                if dark {
                    data[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            let mut writer = enc
                .write_header()
                .map_err(|e| QrError::Png(e.to_string()))?;
            writer
                .write_image_data(&data)
                .map_err(|e| QrError::Png(e.to_string()))?;
            writer.finish().map_err(|e| QrError::Png(e.to_string()))?;
        }
        Ok(out)
    }

    /// The image in `format`.
    ///
    /// # Errors
    /// [`QrError::Png`] if the PNG encoder fails.
    pub fn render(&self, format: QrFormat, size: u32) -> Result<Vec<u8>, QrError> {
        match format {
            QrFormat::Svg => Ok(self.svg(size).into_bytes()),
            QrFormat::Png => self.png(size),
        }
    }
}

fn version_number(code: &QrCode) -> i16 {
    match code.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_LNR: &str = "lnr1qqgteyhfyp40c79a5y3gfe33nxfs6zstwd5k6urvv5s8getnwsfp2cmvd9nksarwd9hxwgr5v4ehggrnw45hge2syqrzymjxzydqkkw24ufxqslttwlj3s608f0rx2slc7etw0833zgs75srnztgqkppqfnwgkvdr57yzh6h92zg3qctvrm7w38djg67kzcm4yeg8vc4cq633uzq99smfawuu6pz0zh9jl6dl8v25u3kzes975x2j9tr0qp0ux0tlzcxjrgehxh9luz5vwjpk92tys9f9zlm038krcz4uqfxgelwf43tgfc";

    #[test]
    fn upper_case_makes_a_smaller_code() {
        let upper = Qr::of_bolt12(SEED_LNR).unwrap();
        let lower = QrCode::with_error_correction_level(SEED_LNR.as_bytes(), EcLevel::M).unwrap();
        assert!(
            upper.version() < version_number(&lower),
            "{} vs {}",
            upper.version(),
            version_number(&lower)
        );
        assert_eq!(upper.ec_level(), EcLevel::M);
    }

    #[test]
    fn sizes_are_whole_pixel_modules_with_a_quiet_zone() {
        let qr = Qr::of_bolt12(SEED_LNR).unwrap();
        let side = (qr.modules() + 2 * QUIET_ZONE) as u32;
        assert_eq!(qr.image_side(1), side);
        assert_eq!(qr.image_side(side), side);
        assert_eq!(qr.image_side(side + 1), side * 2);
        let png = qr.png(300).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, qr.image_side(300));
        assert!(info.width >= 300);
        let svg = qr.svg(300);
        let w = qr.image_side(300);
        assert!(
            svg.contains(&format!("width=\"{w}\" height=\"{w}\"")),
            "{svg}"
        );
    }
}
