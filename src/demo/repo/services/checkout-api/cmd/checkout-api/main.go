// Command checkout-api serves the shop's checkout HTTP API.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"shop/services/checkout-api/internal/payments"
)

// server wires the HTTP handlers to the payments client.
type server struct {
	cfg      Config
	payments *payments.Client
}

func newServer(cfg Config) *server {
	return &server{
		cfg:      cfg,
		payments: payments.New(cfg.PaymentsURL, cfg.PaymentsTimeout),
	}
}

func main() {
	log.SetFlags(0)
	cfg := mustLoadConfig()
	srv := newServer(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("/checkout", srv.handleCheckout)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	httpServer := &http.Server{Addr: cfg.ListenAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := httpServer.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatalf("listen: %v", err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpServer.Shutdown(ctx)
}

// handleCheckout charges the cart's card and records the order.
func (s *server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := s.payments.Charge(r.Context(), r.Header.Get("X-Card-Token"), 0); err != nil {
		log.Printf("ERROR checkout: charge failed: %v", err)
		http.Error(w, "payment failed", http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusCreated)
}
