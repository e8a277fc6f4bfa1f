//! Drawing a chart with `plotters`' SVG backend, one layer at a time.
//!
//! plotters writes a flat list of shapes, so a test (or a reader of the
//! file) could not tell which polygon belongs to which band. Each layer of a
//! chart (axes, events, every band and line, the legend) is therefore drawn
//! on its own backend with the same frame (size, margins, axis ranges, so
//! the same pixel mapping), and the layers are joined into one SVG with each
//! wrapped in `<g class="..." data-series="...">`, after a `<title>` and a
//! `<desc>` for screen readers and search.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::palette::{Rgb, hex};

/// Drawing failed (a plotters error, as text).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot draw chart `{chart}`: {message}")]
pub struct ChartError {
    pub chart: String,
    pub message: String,
}

/// The drawing area of a whole SVG.
pub type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
/// A chart on f64 x f64 axes.
pub type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
/// What a layer draws: on the chart, with the whole area at hand for text
/// in pixel coordinates.
pub type Draw<'f> = Box<dyn Fn(&mut Plot<'_, '_>, &Area<'_>) -> Result<(), String> + 'f>;

/// How the x axis is labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XAxis {
    /// Calendar years (ticks as whole years).
    Years,
    /// Plain numbers.
    Numbers,
}

/// Size, ranges and axis titles shared by every layer of one chart.
#[derive(Debug, Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// Width reserved on the right for the legend (0: none).
    pub legend_width: u32,
    /// Width of the y label area (wider for row labels).
    pub y_label_width: u32,
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub x_desc: String,
    pub y_desc: String,
    pub x_axis: XAxis,
    /// Draw y tick labels (off for charts with row labels).
    pub y_ticks: bool,
    /// Draw x tick labels.
    pub x_ticks: bool,
    pub title: String,
}

impl Frame {
    /// A time chart of the usual size.
    pub fn time(title: &str, years: (f64, f64), y: (f64, f64), y_desc: &str) -> Frame {
        Frame {
            width: 760,
            height: 380,
            legend_width: 200,
            y_label_width: 70,
            x: (years.0 - 0.9, years.1 + 0.5),
            y,
            x_desc: "year".into(),
            y_desc: y_desc.into(),
            x_axis: XAxis::Years,
            y_ticks: true,
            x_ticks: true,
            title: title.into(),
        }
    }
}

/// One layer: its class, series label, and how it is drawn.
pub struct Layer<'f> {
    pub class: String,
    pub series: String,
    pub draw: Draw<'f>,
}

impl<'f> Layer<'f> {
    pub fn new(
        class: &str,
        series: &str,
        draw: impl Fn(&mut Plot<'_, '_>, &Area<'_>) -> Result<(), String> + 'f,
    ) -> Self {
        Layer { class: class.into(), series: series.into(), draw: Box::new(draw) }
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Key {
    /// A filled square with this opacity.
    Swatch(f64),
    Line,
    Dashed,
    Dot,
}

/// A legend entry.
#[derive(Debug, Clone)]
pub struct LegendItem {
    pub label: String,
    pub colour: Rgb,
    pub key: Key,
}

/// Escape text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Text style of the given size, colour and anchor.
pub fn font(size: f64, colour: Rgb, h: HPos, v: VPos) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&rgb(colour)).pos(Pos::new(h, v))
}

pub fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// A tick label: short, without float noise.
pub fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let text = if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

fn p(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draw one layer on its own SVG backend and return the SVG text.
fn render_layer(frame: &Frame, axes: bool, draw: &Draw<'_>) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (frame.width, frame.height)).into_drawing_area();
        if axes {
            root.fill(&WHITE).map_err(p)?;
        }
        let (plot_area, _) = root.split_horizontally(frame.width - frame.legend_width);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(36)
            .margin_right(18)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(48)
            .y_label_area_size(frame.y_label_width)
            .build_cartesian_2d(frame.x.0..frame.x.1, frame.y.0..frame.y.1)
            .map_err(p)?;
        if axes {
            let year_fmt = |x: &f64| format!("{:.0}", x);
            let num_fmt = |x: &f64| tick(*x);
            let y_fmt = |y: &f64| tick(*y);
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(frame.x_desc.as_str())
                .y_desc(frame.y_desc.as_str())
                .axis_desc_style(("sans-serif", 17))
                .label_style(("sans-serif", 15))
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(TRANSPARENT)
                .y_label_formatter(&y_fmt)
                .y_labels(if frame.y_ticks { 7 } else { 0 })
                .x_labels(if frame.x_ticks { 10 } else { 0 });
            match frame.x_axis {
                XAxis::Years => mesh.x_label_formatter(&year_fmt),
                XAxis::Numbers => mesh.x_label_formatter(&num_fmt),
            };
            mesh.draw().map_err(p)?;
            root.draw_text(&frame.title, &font(19.0, (0x22, 0x22, 0x22), HPos::Left, VPos::Top), (10, 8)).map_err(p)?;
        }
        draw(&mut chart, &root)?;
        root.present().map_err(p)?;
    }
    Ok(buf)
}

/// The body of a plotters SVG document (between `<svg ...>` and `</svg>`).
fn body(svg: &str) -> &str {
    let start = svg.find("<svg").and_then(|i| svg[i..].find('>').map(|j| i + j + 1)).unwrap_or(0);
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    svg.get(start..end).unwrap_or("")
}

/// Draw a chart: the axes, then each layer in order, then the legend.
pub fn draw_chart(
    name: &str,
    frame: &Frame,
    desc: &str,
    layers: Vec<Layer<'_>>,
    legend: &[LegendItem],
) -> Result<String, ChartError> {
    let fail = |message: String| ChartError { chart: name.to_string(), message };
    let (w, h) = (frame.width, frame.height);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" class=\"chart\" data-chart=\"{}\">\n<title>{}</title>\n<desc>{}</desc>\n",
        escape(name),
        escape(&frame.title),
        escape(desc)
    );
    let none: Draw<'_> = Box::new(|_, _| Ok(()));
    let axes = render_layer(frame, true, &none).map_err(fail)?;
    out.push_str(&format!("<g class=\"axes\">{}</g>\n", body(&axes)));
    for layer in &layers {
        let svg = render_layer(frame, false, &layer.draw).map_err(fail)?;
        out.push_str(&format!(
            "<g class=\"{}\" data-series=\"{}\">{}</g>\n",
            escape(&layer.class),
            escape(&layer.series),
            body(&svg)
        ));
    }
    if !legend.is_empty() && frame.legend_width > 0 {
        let items = legend.to_vec();
        let x0 = (frame.width - frame.legend_width + 6) as i32;
        let draw: Draw<'_> = Box::new(move |_, root| draw_legend(root, &items, x0));
        let svg = render_layer(frame, false, &draw).map_err(fail)?;
        out.push_str(&format!("<g class=\"legend\">{}</g>\n", body(&svg)));
    }
    out.push_str("</svg>\n");
    Ok(out)
}

fn draw_legend(root: &Area<'_>, items: &[LegendItem], x0: i32) -> Result<(), String> {
    let style = font(15.0, (0x22, 0x22, 0x22), HPos::Left, VPos::Center);
    for (i, item) in items.iter().enumerate() {
        let y = 48 + 22 * i as i32;
        let c = rgb(item.colour);
        match item.key {
            Key::Swatch(alpha) => {
                root.draw(&Rectangle::new([(x0, y - 6), (x0 + 22, y + 6)], c.mix(alpha).filled())).map_err(p)?
            }
            Key::Line => root.draw(&PathElement::new(vec![(x0, y), (x0 + 22, y)], c.stroke_width(3))).map_err(p)?,
            Key::Dashed => root
                .draw(&PathElement::new(vec![(x0, y), (x0 + 8, y)], c.stroke_width(2)))
                .and_then(|_| root.draw(&PathElement::new(vec![(x0 + 13, y), (x0 + 22, y)], c.stroke_width(2))))
                .map_err(p)?,
            Key::Dot => root.draw(&Circle::new((x0 + 11, y), 5, c.filled())).map_err(p)?,
        }
        root.draw_text(&truncate(&item.label, 21), &style, (x0 + 28, y)).map_err(p)?;
    }
    Ok(())
}

/// At most `n` characters, with an ellipsis if cut.
pub fn truncate(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(n.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// An `(low, high)` range covering `values` (finite ones), padded by 6%
/// of its width; a flat range is widened so the axis is not degenerate.
pub fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.06 } else { (lo.abs() * 0.05).max(0.01) };
    (lo - pad, hi + pad)
}

/// A CSS colour string for the HTML page.
pub fn css(c: Rgb) -> String {
    hex(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(140.0), "140");
        assert_eq!(tick(0.012), "0.012");
        assert_eq!(tick(-2.0), "-2");
    }

    #[test]
    fn escape_xml() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn ranges_cover_and_pad() {
        let (lo, hi) = padded_range([0.2, 0.5, f64::NAN]);
        assert!(lo < 0.2 && hi > 0.5);
        let (lo, hi) = padded_range([3.0, 3.0]);
        assert!(lo < 3.0 && hi > 3.0);
    }
}
