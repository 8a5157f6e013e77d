//! Reading a profile file: TOML → [`Profile`], refusing every error with file, line, table
//! entry and field.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{
    Block, ControlStep, DataType, DeviceFamily, Identify, OutOfRange, Point, Profile, Register,
    RegisterKind, WordOrder, WritablePoint, WriteFunction,
};
use crate::error::ConfigError;

/// Largest number of registers one read request may carry (Modbus limit).
pub const MAX_READ_REGISTERS: u16 = 125;
/// Largest number of bits one read request may carry (Modbus limit).
pub const MAX_READ_BITS: u16 = 2000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    profile: RawHeader,
    #[serde(default)]
    block: Vec<Spanned<RawBlock>>,
    #[serde(default)]
    telemetry: Vec<Spanned<RawPoint>>,
    #[serde(default)]
    setpoint: Vec<Spanned<RawPoint>>,
    #[serde(default)]
    acquire: Vec<Spanned<RawStep>>,
    #[serde(default)]
    release: Vec<Spanned<RawStep>>,
    #[serde(default)]
    identify: Vec<Spanned<RawIdentify>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    family: DeviceFamily,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    word_order: Option<WordOrder>,
    #[serde(default)]
    max_read_registers: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    kind: RegisterKind,
    start: u32,
    count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    name: String,
    kind: RegisterKind,
    address: u32,
    #[serde(rename = "type")]
    data_type: DataType,
    #[serde(default)]
    word_order: Option<WordOrder>,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    sign: Option<i64>,
    #[serde(default)]
    offset: Option<f64>,
    #[serde(default)]
    scale_factor: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    not_available: Option<Vec<i64>>,
    #[serde(default)]
    sim_value: Option<f64>,
    #[serde(default)]
    description: Option<String>,
    // Writable points only.
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    ramp_max_step: Option<f64>,
    #[serde(default)]
    refresh_s: Option<f64>,
    #[serde(default)]
    out_of_range: Option<OutOfRange>,
    #[serde(default)]
    write: Option<WriteFunction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    point: String,
    value: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentify {
    kind: RegisterKind,
    address: u32,
    words: Vec<i64>,
    #[serde(default)]
    description: Option<String>,
}

/// Line-aware context for errors in one file.
pub(crate) struct Locator<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl<'a> Locator<'a> {
    /// 1-based line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text[..offset].matches('\n').count() + 1
    }

    /// The line of `field = ...` within `span`, else the line where `span` starts.
    pub fn field_line(&self, span: &Range<usize>, field: &str) -> usize {
        let start = span.start.min(self.text.len());
        let end = span.end.min(self.text.len());
        let mut offset = start;
        for line in self.text[start..end].split_inclusive('\n') {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix(field) {
                if rest.trim_start().starts_with('=') {
                    return self.line_of(offset);
                }
            }
            offset += line.len();
        }
        self.line_of(start)
    }

    /// An error about `field` of the entry spanning `span`.
    pub fn err(
        &self,
        span: &Range<usize>,
        table: &str,
        field: &str,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(self.field_line(span, field)),
            table: Some(table.to_string()),
            field: Some(field.to_string()),
            reason: reason.into(),
        }
    }

    /// Turns a TOML/serde error into a [`ConfigError`] with line, table and field, found
    /// from the error's position in the text.
    pub fn toml_err(&self, e: &toml::de::Error) -> ConfigError {
        let message = e.message().to_string();
        let Some(span) = e.span() else {
            return ConfigError::file(self.path, message);
        };
        let line_no = self.line_of(span.start);
        let line_text = self.text.lines().nth(line_no - 1).unwrap_or("");
        // The key: `unknown field `x``/`missing field `x`` name it; otherwise the key of the
        // line the error points at.
        let field = if message.contains("field `") {
            message.split('`').nth(1).map(str::to_string)
        } else {
            line_text
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
                .filter(|k| !k.is_empty() && !k.starts_with('['))
        };
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(line_no),
            table: self.table_at(span.start),
            field,
            reason: message,
        }
    }

    /// The table header in force at `offset`, e.g. `[[setpoint]] #2 (name 'x')`.
    pub fn table_at(&self, offset: usize) -> Option<String> {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let mut header: Option<(String, usize, usize)> = None; // (header, index, byte offset)
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        let mut pos = 0;
        for line in before.split_inclusive('\n') {
            let t = line.trim();
            if t.starts_with("[[") {
                let name = t.trim_start_matches("[[").split("]]").next().unwrap_or("");
                let name = name.trim().to_string();
                let c = counts.entry(name.clone()).or_insert(0);
                header = Some((format!("[[{name}]]"), *c, pos));
                *c += 1;
            } else if t.starts_with('[') {
                let name = t.trim_start_matches('[').split(']').next().unwrap_or("");
                header = Some((format!("[{}]", name.trim()), usize::MAX, pos));
            }
            pos += line.len();
        }
        let (h, index, start) = header?;
        if index == usize::MAX {
            return Some(h);
        }
        // Name of the entry, if its `name = ".."` comes before the next header.
        let rest = &self.text[start..];
        let name = rest
            .lines()
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('['))
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "name" || k.trim() == "asset")
                    .then(|| v.split('#').next().unwrap_or("").trim().trim_matches('"'))
                    .map(str::to_string)
            });
        Some(match name {
            Some(n) => format!("{h} #{index} ('{n}')"),
            None => format!("{h} #{index}"),
        })
    }
}

fn entry(kind: &str, index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("[[{kind}]] #{index} ('{n}')"),
        None => format!("[[{kind}]] #{index}"),
    }
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Profile, ConfigError> {
    let loc = Locator { path, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| loc.toml_err(&e))?;
    let head_span = text.find("[profile]").unwrap_or(0)..text.len();
    let head_span = head_span.start
        ..text[head_span.start..]
            .find("\n[")
            .map(|i| head_span.start + i)
            .unwrap_or(text.len());
    let head = &raw.profile;
    if head.name.trim().is_empty() {
        return Err(loc.err(&head_span, "[profile]", "name", "must not be empty"));
    }
    let max_read = head.max_read_registers.unwrap_or(MAX_READ_REGISTERS);
    if max_read == 0 || max_read > MAX_READ_REGISTERS {
        return Err(loc.err(
            &head_span,
            "[profile]",
            "max_read_registers",
            format!("{max_read} outside [1, {MAX_READ_REGISTERS}]"),
        ));
    }
    let default_order = head.word_order.unwrap_or_default();

    // Telemetry points.
    let mut telemetry: Vec<Point> = Vec::new();
    for (i, sp) in raw.telemetry.iter().enumerate() {
        let span = sp.span();
        let rp = sp.get_ref();
        let table = entry("telemetry", i, Some(&rp.name));
        for (field, present) in [
            ("min", rp.min.is_some()),
            ("max", rp.max.is_some()),
            ("ramp_max_step", rp.ramp_max_step.is_some()),
            ("refresh_s", rp.refresh_s.is_some()),
            ("out_of_range", rp.out_of_range.is_some()),
            ("write", rp.write.is_some()),
        ] {
            if present {
                return Err(loc.err(
                    &span,
                    &table,
                    field,
                    "only a [[setpoint]] has this key (telemetry is read-only)",
                ));
            }
        }
        let p = point(&loc, &span, &table, rp, default_order)?;
        if let Some(first) = telemetry.iter().find(|q| q.name == p.name) {
            return Err(loc.err(
                &span,
                &table,
                "name",
                format!("'{}' repeats (line {})", p.name, first.line),
            ));
        }
        if let Some(first) = telemetry.iter().find(|q| q.register.overlaps(&p.register)) {
            return Err(loc.err(
                &span,
                &table,
                "address",
                format!(
                    "{} overlaps {} of '{}' (line {})",
                    p.register, first.register, first.name, first.line
                ),
            ));
        }
        telemetry.push(p);
    }

    // Writable points.
    let mut setpoints: Vec<WritablePoint> = Vec::new();
    for (i, sp) in raw.setpoint.iter().enumerate() {
        let span = sp.span();
        let rp = sp.get_ref();
        let table = entry("setpoint", i, Some(&rp.name));
        let p = point(&loc, &span, &table, rp, default_order)?;
        if !p.register.kind.is_writable() {
            return Err(loc.err(
                &span,
                &table,
                "kind",
                format!(
                    "{} registers cannot be written (only holding and coil)",
                    p.register.kind
                ),
            ));
        }
        let min = rp
            .min
            .ok_or_else(|| loc.err(&span, &table, "min", "missing: a setpoint needs limits"))?;
        let max = rp
            .max
            .ok_or_else(|| loc.err(&span, &table, "max", "missing: a setpoint needs limits"))?;
        for (field, v) in [("min", min), ("max", max)] {
            if !v.is_finite() {
                return Err(loc.err(&span, &table, field, format!("{v} is not finite")));
            }
        }
        if min > max {
            return Err(loc.err(
                &span,
                &table,
                "min",
                format!("min = {min} is above max = {max}"),
            ));
        }
        if let Some(r) = rp.ramp_max_step {
            if !(r.is_finite() && r > 0.0) {
                return Err(loc.err(&span, &table, "ramp_max_step", format!("{r} must be > 0")));
            }
        }
        if let Some(r) = rp.refresh_s {
            if !(r.is_finite() && r > 0.0) {
                return Err(loc.err(&span, &table, "refresh_s", format!("{r} must be > 0")));
            }
        }
        let write = rp.write.unwrap_or(if p.register.len() == 1 {
            WriteFunction::Single
        } else {
            WriteFunction::Multiple
        });
        if write == WriteFunction::Single && p.register.len() > 1 {
            return Err(loc.err(
                &span,
                &table,
                "write",
                "'single' writes one register; a two-word value needs 'multiple'",
            ));
        }
        if let Some(first) = setpoints.iter().find(|q| q.point.name == p.name) {
            return Err(loc.err(
                &span,
                &table,
                "name",
                format!("'{}' repeats (line {})", p.name, first.point.line),
            ));
        }
        if let Some(first) = setpoints
            .iter()
            .find(|q| q.point.register.overlaps(&p.register))
        {
            return Err(loc.err(
                &span,
                &table,
                "address",
                format!(
                    "{} overlaps {} of '{}' (line {})",
                    p.register, first.point.register, first.point.name, first.point.line
                ),
            ));
        }
        // A telemetry point may read a setpoint's register back, but only the same register.
        if let Some(t) = telemetry
            .iter()
            .find(|t| t.register.overlaps(&p.register) && t.register != p.register)
        {
            return Err(loc.err(
                &span,
                &table,
                "address",
                format!(
                    "{} partly overlaps telemetry {} of '{}' (line {})",
                    p.register, t.register, t.name, t.line
                ),
            ));
        }
        setpoints.push(WritablePoint {
            point: p,
            min,
            max,
            ramp_max_step: rp.ramp_max_step,
            refresh_s: rp.refresh_s,
            out_of_range: rp.out_of_range.unwrap_or_default(),
            write,
        });
    }

    // Scale-factor references.
    let all_points: Vec<(&Point, &str)> = telemetry
        .iter()
        .map(|p| (p, "telemetry"))
        .chain(setpoints.iter().map(|s| (&s.point, "setpoint")))
        .collect();
    for (idx, (p, kind)) in all_points.iter().enumerate() {
        let Some(sf) = &p.scale_factor else { continue };
        let index = all_points[..idx].iter().filter(|(_, k)| k == kind).count();
        let span = line_span(text, p.line);
        let table = entry(kind, index, Some(&p.name));
        match telemetry.iter().find(|t| &t.name == sf) {
            None => {
                return Err(loc.err(
                    &span,
                    &table,
                    "scale_factor",
                    format!("no telemetry point named '{sf}'"),
                ))
            }
            Some(t) if t.register.data_type != DataType::I16 || t.scale_factor.is_some() => {
                return Err(loc.err(
                    &span,
                    &table,
                    "scale_factor",
                    format!("'{sf}' must be a plain i16 point (a power-of-ten exponent)"),
                ))
            }
            Some(_) => {}
        }
    }

    // Blocks: declared, or derived from the points.
    let blocks = if raw.block.is_empty() {
        derive_blocks(&telemetry, max_read)
    } else {
        let mut blocks: Vec<Block> = Vec::new();
        for (i, sb) in raw.block.iter().enumerate() {
            let span = sb.span();
            let rb = sb.get_ref();
            let table = entry("block", i, None);
            let limit = if rb.kind.is_bit() {
                MAX_READ_BITS
            } else {
                max_read
            };
            if rb.count == 0 || rb.count > u32::from(limit) {
                return Err(loc.err(
                    &span,
                    &table,
                    "count",
                    format!("{} outside [1, {limit}] (one request)", rb.count),
                ));
            }
            if rb.start + rb.count > 65536 {
                return Err(loc.err(
                    &span,
                    &table,
                    "start",
                    format!("{} + {} runs past address 65535", rb.start, rb.count),
                ));
            }
            let b = Block {
                kind: rb.kind,
                start: rb.start as u16,
                count: rb.count as u16,
            };
            if let Some(o) = blocks.iter().position(|o| {
                o.kind == b.kind
                    && u32::from(o.start) < u32::from(b.start) + u32::from(b.count)
                    && u32::from(b.start) < u32::from(o.start) + u32::from(o.count)
            }) {
                return Err(loc.err(&span, &table, "start", format!("overlaps [[block]] #{o}")));
            }
            blocks.push(b);
        }
        for (i, p) in telemetry.iter().enumerate() {
            if !blocks.iter().any(|b| b.covers(&p.register)) {
                return Err(loc.err(
                    &line_span(text, p.line),
                    &entry("telemetry", i, Some(&p.name)),
                    "address",
                    format!("{} is in no [[block]] of its kind", p.register),
                ));
            }
        }
        blocks
    };

    // Control sequences.
    let steps = |list: &[Spanned<RawStep>], kind: &str| -> Result<Vec<ControlStep>, ConfigError> {
        list.iter()
            .enumerate()
            .map(|(i, s)| {
                let span = s.span();
                let r = s.get_ref();
                let table = entry(kind, i, None);
                let Some(sp) = setpoints.iter().find(|p| p.point.name == r.point) else {
                    return Err(loc.err(
                        &span,
                        &table,
                        "point",
                        format!("'{}' is not a declared [[setpoint]]", r.point),
                    ));
                };
                if !(r.value >= sp.min && r.value <= sp.max) {
                    return Err(loc.err(
                        &span,
                        &table,
                        "value",
                        format!(
                            "{} outside the limits [{}, {}] of '{}'",
                            r.value, sp.min, sp.max, r.point
                        ),
                    ));
                }
                Ok(ControlStep {
                    point: r.point.clone(),
                    value: r.value,
                })
            })
            .collect()
    };
    let acquire = steps(&raw.acquire, "acquire")?;
    let release = steps(&raw.release, "release")?;

    let mut identify = Vec::new();
    for (i, si) in raw.identify.iter().enumerate() {
        let span = si.span();
        let r = si.get_ref();
        let table = entry("identify", i, None);
        if r.words.is_empty() || r.address + r.words.len() as u32 > 65536 {
            return Err(loc.err(
                &span,
                &table,
                "words",
                "must hold 1 or more words within the address space",
            ));
        }
        let mut words = Vec::new();
        for w in &r.words {
            let w = u16::try_from(*w).map_err(|_| {
                loc.err(&span, &table, "words", format!("{w} is not a 16-bit word"))
            })?;
            words.push(w);
        }
        identify.push(Identify {
            kind: r.kind,
            address: r.address as u16,
            words,
            description: r.description.clone().unwrap_or_default(),
        });
    }

    Ok(Profile {
        name: head.name.clone(),
        family: head.family,
        description: head.description.clone().unwrap_or_default(),
        blocks,
        telemetry,
        setpoints,
        acquire,
        release,
        identify,
        source: path.to_path_buf(),
    })
}

/// A span covering the whole of 1-based line `line` (to find keys of an entry whose line we
/// know: the entry's keys follow its header line).
fn line_span(text: &str, line: usize) -> Range<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let end = text[start.min(text.len())..]
        .find("\n[")
        .map(|i| start + i)
        .unwrap_or(text.len());
    start..end
}

fn point(
    loc: &Locator<'_>,
    span: &Range<usize>,
    table: &str,
    rp: &RawPoint,
    default_order: WordOrder,
) -> Result<Point, ConfigError> {
    if rp.name.trim().is_empty() {
        return Err(loc.err(span, table, "name", "must not be empty"));
    }
    let data_type = rp.data_type;
    if rp.kind.is_bit() != (data_type == DataType::Bool) {
        return Err(loc.err(
            span,
            table,
            "type",
            format!(
                "{} on {} registers: coils and discrete inputs are 'bool', registers are not",
                data_type.name(),
                rp.kind
            ),
        ));
    }
    let len = u32::from(data_type.words());
    if rp.address + len > 65536 {
        return Err(loc.err(
            span,
            table,
            "address",
            format!("{} + {len} word(s) runs past address 65535", rp.address),
        ));
    }
    let scale = rp.scale.unwrap_or(1.0);
    if !scale.is_finite() || scale == 0.0 {
        return Err(loc.err(
            span,
            table,
            "scale",
            format!("{scale} must be finite and non-zero"),
        ));
    }
    let sign = match rp.sign.unwrap_or(1) {
        1 => 1.0,
        -1 => -1.0,
        s => return Err(loc.err(span, table, "sign", format!("{s} must be 1 or -1"))),
    };
    let offset = rp.offset.unwrap_or(0.0);
    if !offset.is_finite() {
        return Err(loc.err(span, table, "offset", format!("{offset} is not finite")));
    }
    let max_bits: i64 = match len {
        1 => 0xFFFF,
        2 => 0xFFFF_FFFF,
        _ => i64::MAX,
    };
    let mut not_available = Vec::new();
    for v in rp.not_available.iter().flatten() {
        if *v < 0 || *v > max_bits {
            return Err(loc.err(
                span,
                table,
                "not_available",
                format!(
                    "{v} is not a raw {}-bit pattern (write it as e.g. 0x8000)",
                    16 * len
                ),
            ));
        }
        not_available.push(*v as u64);
    }
    let register = Register {
        kind: rp.kind,
        address: rp.address as u16,
        data_type,
        word_order: rp.word_order.unwrap_or(default_order),
    };
    let line = loc.line_of(span.start);
    Ok(Point {
        name: rp.name.clone(),
        register,
        scale,
        sign,
        offset,
        scale_factor: rp.scale_factor.clone(),
        unit: rp.unit.clone().unwrap_or_default(),
        not_available,
        sim_value: rp.sim_value,
        description: rp.description.clone().unwrap_or_default(),
        line,
    })
}

/// Groups the points of each table into read requests: sorted by address, a point joins the
/// current block while the block stays within `max_read` registers and the gap to it is at
/// most 8 registers.
fn derive_blocks(points: &[Point], max_read: u16) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for kind in [
        RegisterKind::Holding,
        RegisterKind::Input,
        RegisterKind::Coil,
        RegisterKind::Discrete,
    ] {
        let limit = if kind.is_bit() {
            MAX_READ_BITS
        } else {
            max_read
        };
        let mut regs: Vec<&Register> = points
            .iter()
            .map(|p| &p.register)
            .filter(|r| r.kind == kind)
            .collect();
        regs.sort_by_key(|r| r.address);
        let mut current: Option<Block> = None;
        for r in regs {
            let end = r.last() + 1;
            current = match current {
                Some(mut b)
                    if u32::from(r.address) <= u32::from(b.start) + u32::from(b.count) + 8
                        && end - u32::from(b.start) <= u32::from(limit) =>
                {
                    b.count = b.count.max((end - u32::from(b.start)) as u16);
                    Some(b)
                }
                other => {
                    if let Some(b) = other {
                        blocks.push(b);
                    }
                    Some(Block {
                        kind,
                        start: r.address,
                        count: r.len(),
                    })
                }
            };
        }
        if let Some(b) = current {
            blocks.push(b);
        }
    }
    blocks
}
