//! Synthetic 16-bit pixel data: a phantom (body ellipse, an inner structure that moves with the
//! slice) plus deterministic noise, so images look like images and differ per slice.

/// Little-endian 16-bit samples, `rows × columns`, for slice `slice` of `slices`.
///
/// CT values are stored with RescaleIntercept -1024 (0 = air, ~1064 = soft tissue, ~2200 =
/// bone) in 12 bits; MR values are 0..~1500.
pub(super) fn phantom(rows: u16, columns: u16, slice: usize, ct: bool, noise_seed: u64) -> Vec<u8> {
    let (rows, columns) = (usize::from(rows), usize::from(columns));
    let mut out = Vec::with_capacity(rows * columns * 2);
    let (cy, cx) = (rows as f32 / 2.0, columns as f32 / 2.0);
    let (ry, rx) = (rows as f32 * 0.42, columns as f32 * 0.36);
    // The inner structure shrinks and moves across slices.
    let phase = slice as f32 * 0.37;
    let (iy, ix) = (cy + phase.sin() * ry * 0.25, cx + phase.cos() * rx * 0.25);
    let ir = (rows.min(columns) as f32) * (0.08 + 0.04 * (phase * 0.5).cos().abs());
    let (background, body, inner) = if ct { (0, 1064, 2200) } else { (0, 600, 1400) };
    let mut state = noise_seed | 1;
    for y in 0..rows {
        for x in 0..columns {
            let (fy, fx) = (y as f32, x as f32);
            let e = ((fy - cy) / ry).powi(2) + ((fx - cx) / rx).powi(2);
            let d = ((fy - iy).powi(2) + (fx - ix).powi(2)).sqrt();
            let base: i32 = if d < ir {
                inner
            } else if e < 1.0 {
                body
            } else {
                background
            };
            // xorshift64: cheap deterministic noise.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = if base == background {
                0
            } else {
                (state % 41) as i32 - 20
            };
            let value = (base + noise).clamp(0, 4095) as u16;
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}
