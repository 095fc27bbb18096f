//! Embedding what the lexical index holds without a vector: read in commits, embedded
//! in batches of similar length, written back; a failure keeps what was embedded.

use anyhow::Result;
use indicatif::ProgressBar;

use crate::index::store::{PendingChunks, Store};
use crate::llm::embed::{Embedder, embed_text};

/// Embed every chunk still waiting for a vector, in commits of several model batches;
/// `done` counts what was written, also when the embedder fails part way.
pub(super) async fn embed_pending(
    store: &Store,
    embedder: &Embedder,
    batch_size: usize,
    bar: ProgressBar,
    done: &mut usize,
) -> Result<()> {
    let batch_size = batch_size.max(1);
    // Several model batches per commit keep the number of LanceDB versions down.
    let commit_rows = batch_size * 8;
    loop {
        let batches = store.pending_vectors(commit_rows).await?;
        let rows: usize = batches.iter().map(PendingChunks::len).sum();
        if rows == 0 {
            break;
        }
        for b in &batches {
            let inputs: Vec<String> = b
                .inputs()?
                .iter()
                .map(|c| embed_text(&c.path, c.symbol.as_deref(), &c.text))
                .collect();
            // Similar lengths together: batches are padded to their longest input.
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].len());
            let mut vectors: Vec<Option<Vec<f32>>> = vec![None; inputs.len()];
            for part in order.chunks(batch_size) {
                let texts: Vec<String> = part.iter().map(|&i| inputs[i].clone()).collect();
                match embedder.embed(texts).await {
                    Ok(v) => {
                        for (&i, vec) in part.iter().zip(v) {
                            vectors[i] = Some(vec);
                        }
                    }
                    Err(e) => {
                        // Keep what this commit already embedded.
                        let ready: Vec<u32> = (0..vectors.len() as u32)
                            .filter(|&i| vectors[i as usize].is_some())
                            .collect();
                        if !ready.is_empty() {
                            let rows = b.only(&ready)?;
                            let vecs: Vec<Vec<f32>> = ready
                                .iter()
                                .filter_map(|&i| vectors[i as usize].take())
                                .collect();
                            store.write_vectors(&rows, &vecs).await?;
                            *done += vecs.len();
                        }
                        return Err(e);
                    }
                }
                bar.inc(part.len() as u64);
            }
            let vectors: Vec<Vec<f32>> = vectors.into_iter().flatten().collect();
            anyhow::ensure!(
                vectors.len() == b.len(),
                "embedder returned too few vectors"
            );
            store.write_vectors(b, &vectors).await?;
            *done += b.len();
        }
    }
    bar.finish_and_clear();
    Ok(())
}
