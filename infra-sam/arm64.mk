# sam build --config-env arm64 uses this file as its Makefile (samconfig.toml: manifest = "arm64.mk").
ARCHITECTURE := arm64
include $(dir $(abspath $(lastword $(MAKEFILE_LIST))))Makefile
