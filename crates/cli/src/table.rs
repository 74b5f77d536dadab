//! Plain-text tables as `kubectl` and `flux get` print them: upper-case headers, columns
//! padded to their widest cell, three spaces between columns, no trailing spaces.

/// A table being built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row (missing cells are empty, extra cells dropped).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| one_line(&c.into())).collect();
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// Column widths in characters, headers included.
    pub fn widths(&self) -> Vec<usize> {
        (0..self.headers.len())
            .map(|i| {
                std::iter::once(&self.headers[i])
                    .chain(self.rows.iter().map(|r| &r[i]))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The header line and every row, each ending in a newline.
    pub fn render(&self) -> String {
        let widths = self.widths();
        let mut out = format_line(&self.headers, &widths);
        for row in &self.rows {
            out.push_str(&format_line(row, &widths));
        }
        out
    }
}

/// One line: cells padded to `widths`, three spaces apart, trailing spaces trimmed.
pub fn format_line(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("   ");
        }
        line.push_str(cell);
        let pad = widths
            .get(i)
            .copied()
            .unwrap_or(0)
            .saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    let mut line = line.trim_end().to_string();
    line.push('\n');
    line
}

/// Newlines and tabs inside a cell would break the columns: folded into spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r', '\t'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell_without_trailing_spaces() {
        let mut t = Table::new(["NAME", "READY", "MESSAGE"]);
        t.row(["apps", "True", "Applied revision: main@sha1:abc"]);
        t.row(["infrastructure-controllers", "False", ""]);
        assert_eq!(
            t.render(),
            "NAME                         READY   MESSAGE\n\
             apps                         True    Applied revision: main@sha1:abc\n\
             infrastructure-controllers   False\n"
        );
    }

    #[test]
    fn multi_line_cells_are_folded_and_long_ones_truncated() {
        let mut t = Table::new(["A", "B"]);
        t.row(["x\ny", "z"]);
        assert_eq!(t.render(), "A     B\nx y   z\n");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("ééééé", 3), "éé…");
    }

    #[test]
    fn short_rows_are_filled_and_widths_count_characters_not_bytes() {
        let mut t = Table::new(["K", "V"]);
        t.row(["é"]);
        assert_eq!(t.widths(), vec![1, 1]);
    }
}
