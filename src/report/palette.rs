//! Colours: the Okabe-Ito palette (Okabe and Ito 2008, safe for the common
//! colour-vision deficiencies) plus Paul Tol's "muted" scheme for the
//! partners beyond it. The rule is stable: a known partner id (`RU`, `CN`,
//! `EU`, ...) or group name always gets its fixed colour; any other id takes
//! the next unused colour of [`EXTRA`] in the order it appears in the
//! scenario's partner list, so the same scenario colours a partner the same
//! on every chart, and scenarios with the same partner list agree.

/// An sRGB colour.
pub type Rgb = (u8, u8, u8);

/// Okabe-Ito: orange, sky blue, bluish green, yellow, blue, vermillion,
/// reddish purple, black.
pub const OKABE_ITO: [Rgb; 8] = [
    (0xE6, 0x9F, 0x00),
    (0x56, 0xB4, 0xE9),
    (0x00, 0x9E, 0x73),
    (0xF0, 0xE4, 0x42),
    (0x00, 0x72, 0xB2),
    (0xD5, 0x5E, 0x00),
    (0xCC, 0x79, 0xA7),
    (0x00, 0x00, 0x00),
];

/// Tol "muted" (without the grey): indigo, cyan, teal, green, olive, sand,
/// rose, wine, purple.
pub const EXTRA: [Rgb; 9] = [
    (0x33, 0x22, 0x88),
    (0x88, 0xCC, 0xEE),
    (0x44, 0xAA, 0x99),
    (0x11, 0x77, 0x33),
    (0x99, 0x99, 0x33),
    (0xDD, 0xCC, 0x77),
    (0xCC, 0x66, 0x77),
    (0x88, 0x22, 0x55),
    (0xAA, 0x44, 0x99),
];

/// Grey for residual buckets (`ROW`, `other`) and neutral marks.
pub const GREY: Rgb = (0x99, 0x99, 0x99);

/// The fixed colours of well-known partner ids and group names.
const FIXED: [(&str, Rgb); 12] = [
    ("RU", OKABE_ITO[4]),
    ("CN", OKABE_ITO[5]),
    ("EU", OKABE_ITO[1]),
    ("US", OKABE_ITO[2]),
    ("TR", OKABE_ITO[0]),
    ("ROW", GREY),
    ("great_power", OKABE_ITO[5]),
    ("west", OKABE_ITO[1]),
    ("southeast_asia", OKABE_ITO[2]),
    ("other", GREY),
    ("eaeu", OKABE_ITO[4]),
    ("central_asia", OKABE_ITO[6]),
];

/// Colours for a list of ids (partners or groups) under the stable rule.
pub fn assign(ids: &[String]) -> Vec<Rgb> {
    let mut next = 0;
    ids.iter()
        .map(|id| {
            FIXED.iter().find(|(k, _)| k == id).map(|(_, c)| *c).unwrap_or_else(|| {
                let c = EXTRA[next % EXTRA.len()];
                next += 1;
                c
            })
        })
        .collect()
}

/// `#rrggbb`.
pub fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Colours of the two sides of a comparison: A blue, B vermillion.
pub const SIDE_A: Rgb = OKABE_ITO[4];
pub const SIDE_B: Rgb = OKABE_ITO[5];

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn known_ids_are_fixed_and_others_follow_order() {
        let a = assign(&ids(&["RU", "CN", "SG", "MY"]));
        let b = assign(&ids(&["SG", "MY", "CN", "RU"]));
        assert_eq!(a[0], b[3]);
        assert_eq!(a[1], b[2]);
        assert_eq!(a[2], EXTRA[0]);
        assert_eq!(a[3], EXTRA[1]);
    }

    #[test]
    fn distinct_for_a_baseline_sized_list() {
        let list = ids(&["RU", "CN", "EU", "US", "TR", "SG", "MY", "VN", "ID", "TH", "ROW"]);
        let c = assign(&list);
        for i in 0..c.len() {
            for j in 0..i {
                assert_ne!(c[i], c[j], "{} and {}", list[i], list[j]);
            }
        }
    }
}
