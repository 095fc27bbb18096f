//! A BERT-family sentence model run locally on the CPU through candle: loaded from a
//! model folder (config.json, tokenizer.json, model.safetensors), mean-pooled.

use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig, DTYPE};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Tokens per input: longer chunks are truncated (MiniLM was trained on 256).
const MAX_TOKENS: usize = 256;

/// An embedder's identity and vector size, as an index or a memory store records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmbedderMeta {
    pub id: String,
    pub dim: usize,
}

/// A BERT-family sentence model run on the CPU with mean pooling.
pub struct LocalModel {
    pub id: String,
    pub dim: usize,
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

fn read_config(dir: &Path) -> Result<(Vec<u8>, BertConfig)> {
    let p = dir.join("config.json");
    let bytes = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
    let config: BertConfig = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a BERT config", p.display()))?;
    Ok((bytes, config))
}

/// Identity and vector size of a local model, without loading its weights.
pub fn local_meta(dir: &Path) -> Result<EmbedderMeta> {
    let (config_bytes, config) = read_config(dir)?;
    let weights = dir.join("model.safetensors");
    let size = std::fs::metadata(&weights)
        .with_context(|| format!("cannot read {}", weights.display()))?
        .len();
    let digest = blake3::hash(&[config_bytes.as_slice(), &size.to_le_bytes()].concat());
    Ok(EmbedderMeta {
        id: format!("local:{}", &digest.to_hex()[..12]),
        dim: config.hidden_size,
    })
}

pub fn load_local(dir: &Path) -> Result<LocalModel> {
    let meta = local_meta(dir)?;
    let (_, config) = read_config(dir)?;
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| {
        anyhow::anyhow!("cannot load {}: {e}", dir.join("tokenizer.json").display())
    })?;
    tokenizer.with_padding(Some(PaddingParams::default()));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .map_err(|e| anyhow::anyhow!("tokenizer truncation: {e}"))?;
    let weights = dir.join("model.safetensors");
    let device = Device::Cpu;
    // SAFETY: the weights file is memory-mapped read-only; it must not be modified while
    // the model is loaded, which holds for model folders.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DTYPE, &device) }
        .with_context(|| format!("cannot load weights {}", weights.display()))?;
    let model = BertModel::load(vb, &config)
        .with_context(|| format!("{} does not hold a BERT model", weights.display()))?;
    Ok(LocalModel {
        id: meta.id,
        dim: meta.dim,
        model,
        tokenizer,
        device,
    })
}

impl LocalModel {
    /// The model's last hidden states for token ids `(batch, seq)`, no padding.
    pub(crate) fn forward_tokens(&self, ids: &Tensor) -> Result<Tensor> {
        let types = ids.zeros_like()?;
        Ok(self.model.forward(ids, &types, None)?)
    }

    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        let ids: Vec<Tensor> = enc
            .iter()
            .map(|e| Tensor::new(e.get_ids(), &self.device))
            .collect::<candle_core::Result<_>>()?;
        let mask: Vec<Tensor> = enc
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &self.device))
            .collect::<candle_core::Result<_>>()?;
        let ids = Tensor::stack(&ids, 0)?;
        let mask = Tensor::stack(&mask, 0)?;
        let types = ids.zeros_like()?;
        let out = self.model.forward(&ids, &types, Some(&mask))?; // (batch, seq, hidden)
        // Mean over real tokens only.
        let m = mask.to_dtype(DTYPE)?.unsqueeze(2)?;
        let summed = out.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        let normed = mean.broadcast_div(&norm)?;
        Ok(normed.to_vec2::<f32>()?)
    }
}
