# Jaeger all-in-one is the real peer for exporters/jaegerexporter tests and
# benchmarks. v1.42.0 is the newest tag that `go install` accepts (later tags
# carry replace directives). Installed only when missing.
JAEGER_VERSION ?= v1.42.0

.PHONY: jaeger
jaeger: bin/all-in-one

bin/all-in-one:
	GOBIN=$(CURDIR)/bin go install github.com/jaegertracing/jaeger/cmd/all-in-one@$(JAEGER_VERSION)
