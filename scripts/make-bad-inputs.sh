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

# A good sharded checkpoint: gpt2-tiny's tensors split over two files with
# an index (and no tokenizer.json, to test a model without one).
mkdir -p "$dir/sharded-ok"
cp "$gpt/config.json" "$dir/sharded-ok/"
perl -MJSON::PP -e '
	my ($src, $out) = @ARGV;
	open(my $f, "<:raw", $src) or die; local $/; my $all = <$f>;
	my $n = unpack("Q<", substr($all, 0, 8));
	my $h = JSON::PP->new->decode(substr($all, 8, $n));
	my @names = sort grep { $_ ne "__metadata__" } keys %$h;
	my %map;
	for my $s (0, 1) {
		my ($off, %hdr, $data) = (0);
		$data = "";
		for my $i (grep { $_ % 2 == $s } 0 .. $#names) {
			my $t = $h->{$names[$i]};
			my ($b, $e) = @{$t->{data_offsets}};
			$data .= substr($all, 8 + $n + $b, $e - $b);
			$hdr{$names[$i]} = {dtype => $t->{dtype}, shape => $t->{shape}, data_offsets => [$off, $off + $e - $b]};
			$off += $e - $b;
			$map{$names[$i]} = sprintf("model-%05d-of-00002.safetensors", $s + 1);
		}
		my $json = JSON::PP->new->canonical->encode(\%hdr);
		open(my $o, ">:raw", sprintf("%s/model-%05d-of-00002.safetensors", $out, $s + 1)) or die;
		print $o pack("Q<", length $json), $json, $data;
	}
	open(my $i, ">", "$out/model.safetensors.index.json") or die;
	print $i JSON::PP->new->canonical->encode({metadata => {}, weight_map => \%map});
' "$gpt/model.safetensors" "$dir/sharded-ok"

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

# Configs that disagree with their weights: a missing tensor, a wrong shape,
# an unknown RNN cell.
rnn=$fx/models/rnn-lstm-langid
for d in rnn-missing-tensor rnn-wrong-shape rnn-unknown-cell; do
	mkdir -p "$dir/$d"; cp "$rnn/model.safetensors" "$rnn/tokenizer.json" "$dir/$d/"
done
sed 's/"num_layers": 2/"num_layers": 3/' "$rnn/config.json" > "$dir/rnn-missing-tensor/config.json"
sed 's/"hidden_size": 48/"hidden_size": 40/' "$rnn/config.json" > "$dir/rnn-wrong-shape/config.json"
sed 's/"cell": "lstm"/"cell": "transformer"/' "$rnn/config.json" > "$dir/rnn-unknown-cell/config.json"
for d in gpt2-missing-tensor gpt2-wrong-shape; do
	mkdir -p "$dir/$d"; cp "$gpt/model.safetensors" "$gpt/tokenizer.json" "$dir/$d/"
done
sed 's/"n_layer": 2/"n_layer": 3/' "$gpt/config.json" > "$dir/gpt2-missing-tensor/config.json"
sed 's/"n_embd": 64/"n_embd": 96/' "$gpt/config.json" > "$dir/gpt2-wrong-shape/config.json"

# A named pipe, alone and as a model directory's config.json: opening one for
# reading would wait for a writer.
rm -f "$dir/pipe" "$dir/pipe-dir/config.json"; mkdir -p "$dir/pipe-dir"
mkfifo "$dir/pipe" "$dir/pipe-dir/config.json"

chmod -R a+rX "$dir"

# Classic models (09_classic): word vectors cut in the middle of a vector, a
# text file whose header promises more words than it has, GloVe lines of
# different lengths, fastText files with a wrong magic number or cut short.
models=${PG_LM_MODELS:-$fx/../models}
head -c 100000 "$models/glove-6B-100d/glove-6B-100d-top30k.bin" > "$dir/truncated-vectors.bin"
printf '10 3\ncat 0.1 0.2 0.3\ndog 0.4 0.5 0.6\n' > "$dir/short-vectors.vec"
printf 'cat 0.1 0.2 0.3\ndog 0.4 0.5\n' > "$dir/ragged-glove.txt"
{ printf '\001\002\003\004'; tail -c +5 "$models/fasttext-lid176/lid.176.ftz"; } > "$dir/bad-magic.ftz"
head -c 5000 "$models/fasttext-lid176/lid.176.ftz" > "$dir/truncated.ftz"
# ... and two good little files in the other word-vector formats.
printf '3 3\ncat 1 0 0\ndog 0.9 0.1 0\ncar 0 0 1\n' > "$dir/tiny.vec"
printf '4 2\r\nking 1 1\r\nman 1 0\r\nwoman 0 1\r\nqueen -0.1 2\r\n' > "$dir/tiny-w2v.txt"
# Configs that disagree with their weights: a missing tensor, a wrong shape,
# an unknown RNN cell.
rnn=$fx/models/rnn-lstm-langid
for d in rnn-missing-tensor rnn-wrong-shape rnn-unknown-cell; do
	mkdir -p "$dir/$d"; cp "$rnn/model.safetensors" "$rnn/tokenizer.json" "$dir/$d/"
done
sed 's/"num_layers": 2/"num_layers": 3/' "$rnn/config.json" > "$dir/rnn-missing-tensor/config.json"
sed 's/"hidden_size": 48/"hidden_size": 40/' "$rnn/config.json" > "$dir/rnn-wrong-shape/config.json"
sed 's/"cell": "lstm"/"cell": "transformer"/' "$rnn/config.json" > "$dir/rnn-unknown-cell/config.json"
for d in gpt2-missing-tensor gpt2-wrong-shape; do
	mkdir -p "$dir/$d"; cp "$gpt/model.safetensors" "$gpt/tokenizer.json" "$dir/$d/"
done
sed 's/"n_layer": 2/"n_layer": 3/' "$gpt/config.json" > "$dir/gpt2-missing-tensor/config.json"
sed 's/"n_embd": 64/"n_embd": 96/' "$gpt/config.json" > "$dir/gpt2-wrong-shape/config.json"

# A named pipe, alone and as a model directory's config.json: opening one for
# reading would wait for a writer.
rm -f "$dir/pipe" "$dir/pipe-dir/config.json"; mkdir -p "$dir/pipe-dir"
mkfifo "$dir/pipe" "$dir/pipe-dir/config.json"

chmod -R a+rX "$dir"
