//! QR codes of a key URI, drawn locally (nothing leaves the server). The
//! pixels and PNG bytes drawn here are zeroed once used; the `qrcode`
//! crate's own module grid has no way to be wiped and is freed as usual.

use data_encoding::BASE64;
use qrcode::render::{svg, unicode};
use qrcode::{Color, QrCode};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Pixels per QR module in the PNG.
const SCALE: usize = 6;
/// Modules of blank border each side, as the QR standard asks.
const QUIET: usize = 4;

fn code(data: &str) -> Result<QrCode> {
    QrCode::new(data.as_bytes())
        .map_err(|_| Error::InvalidAccount("the key URI is too long for a QR code"))
}

/// The QR code as an SVG document.
pub(crate) fn svg(data: &str) -> Result<String> {
    Ok(code(data)?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The QR code in Unicode half blocks, for a terminal.
pub(crate) fn text(data: &str) -> Result<String> {
    Ok(code(data)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// The QR code as a `data:image/png;base64,…` URI for an `<img src>`.
pub(crate) fn png_data_uri(data: &str) -> Result<String> {
    let qr = code(data)?;
    let modules = qr.width();
    let colors = qr.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = Zeroizing::new(vec![255u8; side * side]);
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                if let Some(row) =
                    pixels.get_mut(y * side + mx * SCALE..y * side + (mx + 1) * SCALE)
                {
                    row.fill(0);
                }
            }
        }
    }
    let side = u32::try_from(side).map_err(|_| Error::InvalidAccount("QR code too large"))?;
    let mut out = Zeroizing::new(Vec::new());
    let mut encoder = png::Encoder::new(&mut *out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let failed = |_| Error::InvalidAccount("the QR code could not be drawn");
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    let encoded = Zeroizing::new(BASE64.encode(&out));
    Ok(format!("data:image/png;base64,{}", encoded.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "otpauth://totp/Acme:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme";

    #[test]
    fn svg_is_an_svg() {
        let s = svg(URI).unwrap();
        assert!(s.contains("<svg") && s.ends_with("</svg>"));
    }

    #[test]
    fn png_decodes_to_a_square_with_dark_modules() {
        let uri = png_data_uri(URI).unwrap();
        let b64 = uri.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = BASE64.decode(b64.as_bytes()).unwrap();
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.width, info.height);
        let modules = code(URI).unwrap().width();
        assert_eq!(info.width as usize, (modules + 2 * QUIET) * SCALE);
        let dark = buf.iter().filter(|&&p| p == 0).count();
        let dark_modules = code(URI)
            .unwrap()
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        assert_eq!(dark, dark_modules * SCALE * SCALE);
        // each module is drawn where it stands: its square's centre pixel
        let width = info.width as usize;
        for (i, color) in code(URI).unwrap().to_colors().iter().enumerate() {
            let (x, y) = (i % modules + QUIET, i / modules + QUIET);
            let centre = buf[(y * SCALE + SCALE / 2) * width + x * SCALE + SCALE / 2];
            assert_eq!(centre == 0, *color == Color::Dark, "module {i}");
        }
        // the quiet zone is blank
        assert!(buf[..info.width as usize * QUIET * SCALE]
            .iter()
            .all(|&p| p == 255));
    }

    #[test]
    fn oversized_data_is_an_error_not_a_panic() {
        assert!(matches!(
            svg(&"x".repeat(10_000)),
            Err(Error::InvalidAccount(_))
        ));
        assert!(matches!(
            png_data_uri(&"x".repeat(10_000)),
            Err(Error::InvalidAccount(_))
        ));
    }
}
