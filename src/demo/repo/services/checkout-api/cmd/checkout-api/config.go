package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config is read from the environment at start-up.
type Config struct {
	ListenAddr      string
	PaymentsURL     string
	PaymentsTimeout time.Duration
}

// envOr returns the variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// requiredEnv returns the variable's value or an error naming it.
func requiredEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", fmt.Errorf("%s is required since 1.4.3 (see CHANGELOG)", name)
	}
	return v, nil
}

// loadConfig reads Config from the environment.
func loadConfig() (Config, error) {
	cfg := Config{
		ListenAddr:  envOr("LISTEN_ADDR", ":8080"),
		PaymentsURL: envOr("PAYMENTS_URL", "http://payments:8080"),
	}
	raw, err := requiredEnv("PAYMENTS_TIMEOUT_MS")
	if err != nil {
		return cfg, err
	}
	ms, err := strconv.Atoi(raw)
	if err != nil {
		return cfg, fmt.Errorf("PAYMENTS_TIMEOUT_MS: %w", err)
	}
	cfg.PaymentsTimeout = time.Duration(ms) * time.Millisecond
	return cfg, nil
}

// mustLoadConfig stops the process when the configuration is incomplete: a release that
// adds a setting documents it in CHANGELOG.md, and the deployment sets it first.
func mustLoadConfig() Config {
	cfg, err := loadConfig()
	if err != nil {
		panic("config: missing required setting " + err.Error())
	}
	return cfg
}
