# sam build --config-env x86_64 uses this file as its Makefile (samconfig.toml: manifest = "x86_64.mk").
ARCHITECTURE := x86_64
include $(dir $(abspath $(lastword $(MAKEFILE_LIST))))Makefile
