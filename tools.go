//go:build tools

// This file pins the modules that cdnctl's packages use (or are about to)
// at the versions verified in ../shared/DEPENDENCIES.md, so `go mod tidy`
// keeps them. It is never compiled.
package tools

import (
	_ "charm.land/bubbles/v2/table"
	_ "charm.land/bubbletea/v2"
	_ "charm.land/lipgloss/v2"
	_ "github.com/andybalholm/brotli"
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	_ "github.com/aws/aws-sdk-go-v2/service/cloudfront"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/cespare/xxhash/v2"
	_ "github.com/charmbracelet/x/exp/teatest/v2"
	_ "github.com/cloudflare/cloudflare-go/v7/cache"
	_ "github.com/cloudflare/cloudflare-go/v7/option"
	_ "github.com/klauspost/compress/gzip"
	_ "github.com/maypok86/otter/v2"
	_ "github.com/miekg/dns"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/tdewolff/parse/v2/css"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/net/html"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sync/singleflight"
)
