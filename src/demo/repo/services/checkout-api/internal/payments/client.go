// Package payments charges cards through the payments service.
package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Client talks to the payments service over HTTP.
type Client struct {
	baseURL string
	http    *http.Client
}

// New returns a client whose requests give up after timeout.
func New(baseURL string, timeout time.Duration) *Client {
	return &Client{baseURL: baseURL, http: &http.Client{Timeout: timeout}}
}

// Charge charges amount (in cents) to the card behind token. A 503 is retried once.
func (c *Client) Charge(ctx context.Context, token string, amount int) error {
	body, _ := json.Marshal(map[string]any{"token": token, "amount": amount})
	for attempt := 0; attempt < 2; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/charge", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("payments unreachable: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			continue
		}
		if resp.StatusCode >= 300 {
			return fmt.Errorf("payments answered %d", resp.StatusCode)
		}
		return nil
	}
	return fmt.Errorf("payments unavailable after retry")
}
