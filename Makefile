# pg_lm — PGXS build of the extension, plus the engine's C tests, fuzzers,
# demo and benchmarks.  `make`, `make install`, `make test`, `make demo`.

MODULE_big = pg_lm
MODULEDIR = extension
EXTVERSION = 0.1
DATA = extension/pg_lm.control $(wildcard sql/pg_lm--*.sql)

# The engine (no PostgreSQL headers) and the PostgreSQL glue.
ENGINE_SRCS := $(sort $(wildcard src/util/*.c src/formats/*.c src/tokenizer/*.c src/classic/*.c \
                 src/nn/*.c src/models/*.c src/metrics/*.c src/tasks/*.c src/wire/*.c \
                 src/device/*.c src/index/*.c src/chat/*.c))
GLUE_SRCS := $(sort $(wildcard src/pg/*.c))
OBJS = $(ENGINE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o) $(EXTRA_OBJS)

ENGINE_LIBS = -lutf8proc -lpcre2-8 -ljansson -lxxhash -ldl -lm
PG_CPPFLAGS = -Isrc
# The engine is C11 with declarations where they are used.
PG_CFLAGS = -std=gnu11 -Wall -Werror -Wno-declaration-after-statement $(OPTFLAGS)
OPTFLAGS ?= -O2
SHLIB_LINK = $(ENGINE_LIBS)

EXTRA_CLEAN = build

# No LLVM bitcode: the JIT gains nothing here and it doubles build time.
override with_llvm = no
# Rebuild objects when the headers they include change.
override autodepend = yes

PG_CONFIG ?= $(shell command -v pg_config 2>/dev/null || echo /usr/lib/postgresql/15/bin/pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# ---- engine tests: plain programs linked against the engine ----------------
BUILD = build
ENGINE_TEST_CFLAGS = -std=gnu11 -g -O2 -Wall -Werror -Isrc -Itests -MMD -MP
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
ENGINE_TEST_OBJS := $(patsubst src/%.c,$(BUILD)/engine/%.o,$(ENGINE_SRCS))

$(BUILD)/engine/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_TEST_CFLAGS) -c $< -o $@

$(BUILD)/libpglm_engine.a: $(ENGINE_TEST_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/fixture_util.h tests/cancel_util.h $(BUILD)/libpglm_engine.a
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_TEST_CFLAGS) $< -o $@ $(BUILD)/libpglm_engine.a $(ENGINE_LIBS) -pthread

# The task test again under ThreadSanitizer: two threads share each model,
# and a data race fails the run (TSan's exit status), not just a wrong result.
$(BUILD)/tests/test_tasks_tsan: tests/test_tasks.c tests/testutil.h tests/fixture_util.h tests/cancel_util.h $(ENGINE_SRCS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -g -O1 -fsanitize=thread -Wall -Werror -Isrc -Itests $< $(ENGINE_SRCS) -o $@ $(ENGINE_LIBS) -pthread

# The model and task tests again with every model moved to the reference
# device: the device versions of the architectures (models/*_device.c)
# must pass the same parity checks as the CPU ones.
DEVICE_TEST_BINS := $(BUILD)/tests/test_models_on_device $(BUILD)/tests/test_seq2seq_on_device \
                    $(BUILD)/tests/test_tasks_on_device
$(BUILD)/tests/%_on_device: tests/%.c tests/testutil.h tests/fixture_util.h tests/cancel_util.h $(BUILD)/libpglm_engine.a
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_TEST_CFLAGS) -DLM_TEST_DEVICE='"reference"' $< -o $@ $(BUILD)/libpglm_engine.a $(ENGINE_LIBS) -pthread
TEST_BINS += $(DEVICE_TEST_BINS)

# And with every model on the reference device: threads share a device, whose lock they must take.
$(BUILD)/tests/test_tasks_on_device_tsan: tests/test_tasks.c tests/testutil.h tests/fixture_util.h tests/cancel_util.h $(ENGINE_SRCS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -g -O1 -fsanitize=thread -Wall -Werror -Isrc -Itests -DLM_TEST_DEVICE='"reference"' $< $(ENGINE_SRCS) -o $@ $(ENGINE_LIBS) -pthread

engine-tests: $(TEST_BINS) $(BUILD)/tests/test_tasks_tsan $(BUILD)/tests/test_tasks_on_device_tsan

# Run the engine's C tests alone (no PostgreSQL needed).
unit: engine-tests
	scripts/run-c-tests.sh $(TEST_BINS)

# ---- the model server: a program of its own, started by the supervisor ----
SERVER_SRCS := $(sort $(wildcard src/server/*.c))
SERVER_BIN = $(BUILD)/pg_lm_server

$(SERVER_BIN): $(SERVER_SRCS) $(wildcard src/server/*.h) $(BUILD)/libpglm_engine.a
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_TEST_CFLAGS) -D_GNU_SOURCE $(SERVER_SRCS) -o $@ $(BUILD)/libpglm_engine.a $(ENGINE_LIBS) -pthread

all: $(SERVER_BIN)

# Installed beside postgres: the supervisor finds it in the server's bindir.
install: install-server
install-server: $(SERVER_BIN)
	$(INSTALL_PROGRAM) $(SERVER_BIN) '$(DESTDIR)$(bindir)/pg_lm_server'

.PHONY: install-server

# ---- the CUDA module: pg_lm_cuda.so, dlopen()ed by the server only ---------
# Built when nvcc is found (on PATH, else /usr/local/cuda/bin/nvcc) and its
# source is there; otherwise skipped, and pg_lm.device = 'cuda' falls back to
# the CPU with a WARNING.  `make NVCC=` skips it too.
ifeq ($(origin NVCC),undefined)
NVCC := $(shell command -v nvcc 2>/dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_SRC = src/device/cuda/device_cuda.cu
CUDA_MODULE = $(BUILD)/pg_lm_cuda.so
NVCC_FLAGS = -O3 -std=c++17 -shared -Xcompiler -fPIC,-fvisibility=hidden,-Wall -Isrc \
	-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
NVCC_LIBS = -L$(CUDA_HOME)/lib64 -Xlinker -rpath=$(CUDA_HOME)/lib64 -lcublas

ifneq ($(NVCC),)
ifneq ($(wildcard $(CUDA_SRC)),)
$(CUDA_MODULE): $(CUDA_SRC) src/device/device_ops.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) $< -o $@ $(NVCC_LIBS)

all: $(CUDA_MODULE)

# Installed beside pg_lm.so: the supervisor passes its path to the server.
install: install-cuda
install-cuda: $(CUDA_MODULE)
	$(INSTALL_SHLIB) $(CUDA_MODULE) '$(DESTDIR)$(pkglibdir)/pg_lm_cuda.so'

.PHONY: install-cuda
endif
endif

# ---- benchmark programs: every bench/*.c, linked against the engine --------
# Built, not run (bench/run*.sh run them).  The engine library is compiled as
# the extension's engine is (-O2, no -march: kernels are picked at run time).
BENCH_CFLAGS = -std=gnu11 -g -O2 -Wall -Werror -Isrc
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

$(BUILD)/bench/%: bench/%.c $(BUILD)/libpglm_engine.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -MMD -MP -MF $@.d $< -o $@ $(BUILD)/libpglm_engine.a $(ENGINE_LIBS)

bench-build: $(BENCH_BINS)

# ---- libFuzzer harnesses (clang) -------------------------------------------
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
$(BUILD)/fuzz/%: fuzz/%.c $(ENGINE_SRCS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc $< $(ENGINE_SRCS) -o $@ $(ENGINE_LIBS)
fuzzers: $(FUZZ_BINS)

# ---- the whole suite, the demo, the benchmarks -----------------------------
test:
	scripts/test.sh

demo:
	scripts/demo.sh

bench:
	bench/run.sh

.PHONY: engine-tests unit bench-build fuzzers test demo bench

-include $(ENGINE_TEST_OBJS:.o=.d) $(BENCH_BINS:=.d)
