//! A static embedding table distilled from the local sentence model. Each vocabulary
//! token's vector is the model's output for that token alone (one forward pass per
//! token, done once per machine and cached), with the direction every token shares
//! removed and a weight that falls with how common the token is; a text's vector is
//! the weighted mean of its tokens' vectors. Code is split into words first
//! (`parseHeaderValue`, `parse_header_value` → `parse header value`), so identifiers
//! meet the words of an issue. Thousands of chunks a second on one core, against about
//! a dozen for the model itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use candle_transformers::models::bert::DTYPE;
use tokenizers::Tokenizer;

use super::local_model::{LocalModel, local_meta};

/// File header: format name and version.
const MAGIC: &[u8; 8] = b"TRSTAT01";
/// Tokens per distillation batch (each input is `[CLS] token [SEP]`).
const DISTILL_BATCH: usize = 512;
/// Smoothing of the frequency weight: a token with estimated probability `p` weighs
/// `SIF / (SIF + p)` (smooth inverse frequency).
const SIF: f32 = 1e-4;
/// Characters of a text that are embedded (a chunk is at most a few hundred lines).
const MAX_CHARS: usize = 8000;

/// The distilled table and the tokenizer it is indexed by.
pub struct StaticTable {
    pub id: String,
    pub dim: usize,
    vectors: Vec<f32>,
    tokenizer: Tokenizer,
}

/// The identity of the table distilled from the model in `dir`: it changes with the
/// model and with its tokenizer (the table has one row per vocabulary entry).
pub fn static_id(dir: &Path) -> Result<String> {
    let meta = local_meta(dir)?;
    let tok = dir.join("tokenizer.json");
    let size = std::fs::metadata(&tok)
        .with_context(|| format!("cannot read {}", tok.display()))?
        .len();
    let digest = blake3::hash(&[meta.id.as_bytes(), &size.to_le_bytes()].concat());
    Ok(format!("static:{}", &digest.to_hex()[..12]))
}

/// The folder tables are cached in: `$XDG_CACHE_HOME/triage/models/static`.
pub fn cache_dir() -> Option<PathBuf> {
    super::models::models_dir().map(|d| d.join("static"))
}

impl StaticTable {
    /// The table for the model in `dir` cached in `cache`, distilled (and cached) first if
    /// there is none. Distilling runs the model once per vocabulary token: about a minute.
    pub fn load_or_distill(dir: &Path, cache: Option<&Path>) -> Result<StaticTable> {
        let id = static_id(dir)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| {
            anyhow::anyhow!("cannot load {}: {e}", dir.join("tokenizer.json").display())
        })?;
        let path = cache.map(|c| c.join(format!("{}.bin", id.replace(':', "-"))));
        if let Some(p) = path.as_deref().filter(|p| p.is_file()) {
            match read_table(p) {
                Ok((dim, vectors)) if vectors.len() == dim * rows(&tokenizer) => {
                    return Ok(StaticTable {
                        id,
                        dim,
                        vectors,
                        tokenizer,
                    });
                }
                // A damaged or foreign file is distilled again below.
                Ok(_) | Err(_) => tracing::warn!("{} is not a usable table", p.display()),
            }
        }
        let model = super::local_model::load_local(dir)?;
        let vectors = distill(&model, &tokenizer)?;
        let dim = model.dim;
        if let Some(p) = &path {
            write_table(p, dim, &vectors)?;
        }
        Ok(StaticTable {
            id,
            dim,
            vectors,
            tokenizer,
        })
    }

    /// Vectors for `texts`, L2-normalised; a text with no known word gets the zero vector.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_one(t)).collect()
    }

    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let words = code_words(text);
        let enc = self
            .tokenizer
            .encode(words, false)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        // Ordered, so the sum (and the vector) is the same on every call.
        let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
        for &id in enc.get_ids() {
            *counts.entry(id).or_default() += 1;
        }
        let mut out = vec![0f32; self.dim];
        for (id, n) in counts {
            let start = id as usize * self.dim;
            let Some(row) = self.vectors.get(start..start + self.dim) else {
                continue;
            };
            // Repeats count, but less than linearly.
            let tf = 1.0 + (n as f32).ln();
            for (o, v) in out.iter_mut().zip(row) {
                *o += tf * v;
            }
        }
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 1e-12 {
            out.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(out)
    }
}

/// `text` as lower-case words: identifiers split at case changes, underscores and
/// digits, everything that is not a letter or digit dropped.
pub fn code_words(text: &str) -> String {
    let mut cut = text.len().min(MAX_CHARS);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + cut / 4);
    let mut prev: Option<char> = None;
    let chars: Vec<char> = text[..cut].chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower)
                || (p.is_alphabetic() != c.is_alphabetic());
            if boundary && !out.ends_with(' ') {
                out.push(' ');
            }
        }
        out.extend(c.to_lowercase());
        prev = Some(c);
    }
    out.trim().to_string()
}

/// Rows of the table: one per vocabulary id.
fn rows(tokenizer: &Tokenizer) -> usize {
    tokenizer
        .get_vocab(true)
        .values()
        .max()
        .map_or(0, |&m| m as usize + 1)
}

/// Ids of the tokens that carry meaning: not special, unused or punctuation-only.
fn meaningful(tokenizer: &Tokenizer, id: u32) -> bool {
    let Some(tok) = tokenizer.id_to_token(id) else {
        return false;
    };
    let body = tok.strip_prefix("##").unwrap_or(&tok);
    !(tok.starts_with('[') && tok.ends_with(']')) && body.chars().any(char::is_alphanumeric)
}

/// One forward pass per token: the model's mean-pooled output for `[CLS] token [SEP]`,
/// normalised, centred on the mean over all meaningful tokens, then weighted by
/// smooth inverse frequency, the frequency estimated from the token's rank in the
/// vocabulary (WordPiece vocabularies list words by frequency, after the characters).
fn distill(model: &LocalModel, tokenizer: &Tokenizer) -> Result<Vec<f32>> {
    let vocab = rows(tokenizer);
    let dim = model.dim;
    let special = |name: &str| {
        tokenizer
            .token_to_id(name)
            .with_context(|| format!("the tokenizer has no {name} token"))
    };
    let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
    let ids: Vec<u32> = (0..vocab as u32)
        .filter(|&id| meaningful(tokenizer, id))
        .collect();
    let mut vectors = vec![0f32; vocab * dim];
    let device = Device::Cpu;
    for part in ids.chunks(DISTILL_BATCH) {
        let input: Vec<u32> = part.iter().flat_map(|&id| [cls, id, sep]).collect();
        let input = Tensor::from_vec(input, (part.len(), 3), &device)?;
        let out = model.forward_tokens(&input)?; // (batch, 3, hidden)
        let mean = out.mean(1)?.to_dtype(DTYPE)?.to_vec2::<f32>()?;
        for (&id, v) in part.iter().zip(mean) {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            let row = &mut vectors[id as usize * dim..(id as usize + 1) * dim];
            for (r, x) in row.iter_mut().zip(v) {
                *r = x / norm;
            }
        }
    }
    // The direction all tokens share says nothing about any of them.
    let mut centre = vec![0f32; dim];
    for &id in &ids {
        let row = &vectors[id as usize * dim..(id as usize + 1) * dim];
        centre.iter_mut().zip(row).for_each(|(c, x)| *c += x);
    }
    let n = ids.len().max(1) as f32;
    centre.iter_mut().for_each(|c| *c /= n);
    // Rank among the words: the first meaningful multi-character token starts the list.
    let first_word = ids
        .iter()
        .position(|&id| {
            tokenizer
                .id_to_token(id)
                .is_some_and(|t| t.chars().count() > 1 && !t.starts_with("##"))
        })
        .unwrap_or(0);
    let harmonic = (ids.len() as f32).ln() + 0.5772;
    for (k, &id) in ids.iter().enumerate() {
        // Single characters and word pieces before the word list count as common.
        let rank = k.saturating_sub(first_word) + 1;
        let p = 1.0 / (rank as f32 * harmonic);
        let weight = SIF / (SIF + p);
        let row = &mut vectors[id as usize * dim..(id as usize + 1) * dim];
        for (r, c) in row.iter_mut().zip(&centre) {
            *r = (*r - c) * weight;
        }
    }
    Ok(vectors)
}

fn read_table(path: &Path) -> Result<(usize, Vec<f32>)> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = [0u8; 16];
    f.read_exact(&mut head)
        .with_context(|| format!("{} is too short", path.display()))?;
    anyhow::ensure!(&head[..8] == MAGIC, "{} is not a table", path.display());
    let dim = u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize;
    let rows = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
    let mut bytes = Vec::with_capacity(dim * rows * 4);
    f.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        bytes.len() == dim * rows * 4,
        "{} holds {} bytes, not {dim}×{rows} floats",
        path.display(),
        bytes.len()
    );
    Ok((
        dim,
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    ))
}

/// Written to a temporary file first, so an interrupted write leaves no half table.
fn write_table(path: &Path, dim: usize, vectors: &[f32]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&(dim as u32).to_le_bytes())?;
        f.write_all(&((vectors.len() / dim.max(1)) as u32).to_le_bytes())?;
        for v in vectors {
            f.write_all(&v.to_le_bytes())?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()
    };
    write().with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_become_words() {
        assert_eq!(
            code_words("fn parseHeaderValue(raw_input: &str) -> HTTPResponse2"),
            "fn parse header value raw input str http response 2"
        );
        assert_eq!(code_words("__init__"), "init");
        assert_eq!(code_words("  "), "");
    }

    #[test]
    fn a_damaged_table_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.bin");
        write_table(&p, 4, &[1.0; 8]).unwrap();
        let (dim, v) = read_table(&p).unwrap();
        assert_eq!((dim, v.len()), (4, 8));
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let err = read_table(&p).unwrap_err().to_string();
        assert!(err.contains("t.bin"), "{err}");
        std::fs::write(&p, b"not a table at all").unwrap();
        assert!(read_table(&p).is_err());
    }
}
