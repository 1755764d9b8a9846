#!/bin/sh
# Write the malformed model files the bad-input tests import:
#   scripts/make-bad-inputs.sh DIR FIXTURES
# Uses only sh, head, sed and perl-base (pack), so it runs on a bare Debian.
set -e
dir=$1; fx=$2
rm -rf "$dir"; mkdir -p "$dir"
gpt=$fx/models/gpt2-tiny

# A model directory whose config and tokenizer are fine.
base() {
	mkdir -p "$dir/$1"
	cp "$gpt/config.json" "$gpt/tokenizer.json" "$dir/$1/"
}

# safetensors file from a header and a data size:  st FILE HEADER DATA_BYTES
st() {
	perl -e 'my ($h, $n) = @ARGV; print pack("Q<", length $h), $h, "\0" x $n' "$2" "$3" > "$1"
}

base truncated
size=$(wc -c < "$gpt/model.safetensors")
head -c $((size / 2)) "$gpt/model.safetensors" > "$dir/truncated/model.safetensors"

base short-header
head -c 5 "$gpt/model.safetensors" > "$dir/short-header/model.safetensors"

base lying-offsets
st "$dir/lying-offsets/model.safetensors" '{"wte":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}' 16

base lying-dtype
st "$dir/lying-dtype/model.safetensors" '{"wte":{"dtype":"F33","shape":[4],"data_offsets":[0,16]}}' 16

base lying-shape
st "$dir/lying-shape/model.safetensors" '{"wte":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}}' 16

base overlapping
st "$dir/overlapping/model.safetensors" '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}' 24

base bad-header-json
st "$dir/bad-header-json/model.safetensors" '{"a":{"dtype":"F32",' 0

# Two shards, the second truncated: the first one's rows must vanish too.
base sharded-broken
cat > "$dir/sharded-broken/model.safetensors.index.json" <<'JSON'
{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
JSON
st "$dir/sharded-broken/model-00001-of-00002.safetensors" '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}' 16
st "$dir/sharded-broken/model-00002-of-00002.safetensors" '{"b":{"dtype":"F32","shape":[400],"data_offsets":[0,1600]}}' 100

# A shard named in the index that is not there.
base shard-missing
cat > "$dir/shard-missing/model.safetensors.index.json" <<'JSON'
{"weight_map": {"a": "model-00001-of-00002.safetensors"}}
JSON

# Two good shards.
base sharded-ok
cat > "$dir/sharded-ok/model.safetensors.index.json" <<'JSON'
{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
JSON
st "$dir/sharded-ok/model-00001-of-00002.safetensors" '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}' 16
st "$dir/sharded-ok/model-00002-of-00002.safetensors" '{"b":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}}' 6

mkdir -p "$dir/bad-config"
printf '{"model_type": "gpt2", "n_layer": ' > "$dir/bad-config/config.json"

mkdir -p "$dir/unknown-arch"
printf '{"model_type": "mamba", "architectures": ["MambaForCausalLM"]}' > "$dir/unknown-arch/config.json"

mkdir -p "$dir/no-weights"
cp "$gpt/config.json" "$dir/no-weights/"

mkdir -p "$dir/no-config"
cp "$gpt/model.safetensors" "$dir/no-config/"

# Tokenizers with an unknown component, and a file that is not JSON.
sed 's/"type": *"WordLevel"/"type": "NoSuchModel"/' "$fx/tokenizers/wordlevel/tokenizer.json" > "$dir/unknown-model-tokenizer.json"
sed 's/"type": *"Whitespace"/"type": "NoSuchPreTokenizer"/' "$fx/tokenizers/wordlevel/tokenizer.json" > "$dir/unknown-pretokenizer-tokenizer.json"
head -c 1000 "$fx/tokenizers/wordlevel/tokenizer.json" > "$dir/truncated-tokenizer.json"
printf '[1, 2, 3]' > "$dir/array-tokenizer.json"
head -c 3000 "$fx/tokenizers/spm-unigram/spiece.model" > "$dir/truncated.model"
printf 'this is not a sentencepiece model' > "$dir/garbage.model"

chmod -R a+rX "$dir"
