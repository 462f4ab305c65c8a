//! The stylesheet of rendered Markdown, one `style` attribute for each kind of element: GitHub's
//! look, in properties that Gmail, Outlook (Word's renderer) and Apple Mail all keep
//! (`background-color`, not `background`; borders on cells; no selectors, no variables).

use pulldown_cmark::{Alignment, HeadingLevel};

pub(super) const BODY: &str = concat!(
    "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;",
    "font-size:14px;line-height:1.5;color:#1f2328;max-width:860px"
);
pub(super) const PARAGRAPH: &str = "margin:0 0 12px 0";
pub(super) const QUOTE: &str =
    "margin:0 0 12px 0;padding:0 12px;color:#59636e;border-left:4px solid #d1d9e0";
pub(super) const PRE: &str = concat!(
    "margin:0 0 12px 0;padding:12px 14px;background-color:#f6f8fa;border:1px solid #d1d9e0;",
    "border-radius:6px;font-family:SFMono-Regular,Consolas,'Liberation Mono',Menlo,monospace;",
    "font-size:13px;line-height:1.45;white-space:pre;overflow-x:auto"
);
pub(super) const CODE: &str = concat!(
    "padding:1px 4px;background-color:#eff1f3;border-radius:4px;",
    "font-family:SFMono-Regular,Consolas,'Liberation Mono',Menlo,monospace;font-size:13px"
);
pub(super) const TABLE: &str = "border-collapse:collapse;border-spacing:0;margin:0 0 12px 0";
pub(super) const HEAD_CELL: &str =
    "border:1px solid #d1d9e0;padding:6px 12px;background-color:#f6f8fa;font-weight:600;";
pub(super) const CELL: &str = "border:1px solid #d1d9e0;padding:6px 12px;";
pub(super) const LIST: &str = "margin:0 0 12px 0;padding-left:28px";
pub(super) const ITEM: &str = "margin:2px 0";
pub(super) const LINK: &str = "color:#0969da;text-decoration:underline";
pub(super) const RULE: &str = "border:0;border-top:2px solid #d1d9e0;height:0;margin:20px 0";
pub(super) const IMAGE: &str = "max-width:100%;height:auto;border:0";

/// A heading's style by its level.
pub(super) fn heading(level: HeadingLevel) -> String {
    let (size, rule) = match level {
        HeadingLevel::H1 => ("24px", true),
        HeadingLevel::H2 => ("20px", true),
        HeadingLevel::H3 => ("16px", false),
        HeadingLevel::H4 => ("14px", false),
        HeadingLevel::H5 => ("13px", false),
        HeadingLevel::H6 => ("12px", false),
    };
    let rule = match rule {
        true => ";padding-bottom:6px;border-bottom:1px solid #d1d9e0".to_string(),
        false => String::new(),
    };
    format!("font-size:{size};font-weight:600;line-height:1.25;margin:20px 0 12px 0{rule}")
}

/// A cell's `text-align` (left when the table does not say).
pub(super) fn align(alignment: Option<&Alignment>) -> &'static str {
    match alignment {
        Some(Alignment::Center) => "text-align:center",
        Some(Alignment::Right) => "text-align:right",
        _ => "text-align:left",
    }
}
