//! The config layers, their merge and the environment over them.

use super::*;

#[test]
fn unknown_key_names_key_and_valid_fields() {
    let err = parse_layer("[index]\nmax_file_sise = 3\n").unwrap_err();
    assert!(err.contains("max_file_sise"), "{err}");
    assert!(err.contains("max_file_size"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn bad_enum_value_lists_choices() {
    let err = parse_layer("[embed]\nprovider = \"gpu\"\n").unwrap_err();
    assert!(err.contains("gpu") && err.contains("openai"), "{err}");
}

#[test]
fn layers_merge_key_by_key() {
    let mut t = parse_layer("[index]\nmax_file_size = 10\nexclude = [\"a\"]\n").unwrap();
    deep_merge(&mut t, parse_layer("[index]\nexclude = [\"b\"]\n").unwrap());
    let c = Config::deserialize(toml::Value::Table(t)).unwrap();
    assert_eq!(c.index.max_file_size, 10);
    assert_eq!(c.index.exclude, vec!["b".to_string()]);
}

#[test]
fn openai_variables_beat_files_and_triage_variables_beat_them() {
    let mut t = parse_layer("[llm]\nmodel = \"from-file\"\n").unwrap();
    let vars = [("OPENAI_MODEL".to_string(), "from-env".to_string())];
    apply_env(&mut t, with_openai_aliases(vars.into_iter())).unwrap();
    let c = Config::deserialize(toml::Value::Table(t)).unwrap();
    assert_eq!(c.llm.model.as_deref(), Some("from-env"));

    let mut t = toml::Table::new();
    let vars = [
        ("TRIAGE_LLM_MODEL".to_string(), "triage".to_string()),
        ("OPENAI_MODEL".to_string(), "openai".to_string()),
    ];
    apply_env(&mut t, with_openai_aliases(vars.into_iter())).unwrap();
    let c = Config::deserialize(toml::Value::Table(t)).unwrap();
    assert_eq!(c.llm.model.as_deref(), Some("triage"));
}

#[test]
fn env_overrides_and_rejects_bad_values() {
    let mut t = toml::Table::new();
    apply_env(
        &mut t,
        [
            ("TRIAGE_INDEX_MAX_FILE_SIZE".to_string(), "42".to_string()),
            ("TRIAGE_EMBED_MODEL".to_string(), "/m".to_string()),
            ("TRIAGE_LOG".to_string(), "debug".to_string()),
        ]
        .into_iter(),
    )
    .unwrap();
    let c = Config::deserialize(toml::Value::Table(t)).unwrap();
    assert_eq!(c.index.max_file_size, 42);
    assert_eq!(c.embed.model_dir, Some(PathBuf::from("/m")));

    let err = apply_env(
        &mut toml::Table::new(),
        [("TRIAGE_EMBED_PROVIDER".to_string(), "gpu".to_string())].into_iter(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("TRIAGE_EMBED_PROVIDER") && err.contains("gpu"),
        "{err}"
    );
    let err = apply_env(
        &mut toml::Table::new(),
        [("TRIAGE_INDEX_MAX_FILE_SIZE".to_string(), "big".to_string())].into_iter(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("whole number"), "{err}");
    let err = apply_env(
        &mut toml::Table::new(),
        [("TRIAGE_INDEX_MAX_FILE_SISE".to_string(), "1".to_string())].into_iter(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("max_file_sise"), "{err}");
}
