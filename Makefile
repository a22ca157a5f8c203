.PHONY: up test bench
up:        ## install, start Postgres/Redis if needed, run the whole system
	scripts/up.sh
test:      ## install, start Postgres/Redis if needed, run lint, types and the whole test suite
	scripts/test.sh
bench:     ## measure gateway overhead against the fake upstream (writes bench/results/)
	scripts/install.sh && scripts/services.sh && .venv/bin/python -m bench
