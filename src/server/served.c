/*
 * served.c — the server's table of loaded models (see served.h).
 */
#include "server/served.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "device/device.h"
#include "formats/weights_file.h"
#include "server/batch.h"

#define MAX_SERVED 256

struct LmServed
{
	uint32_t	database;
	int64_t		model_id;
	char	   *key;
	char	   *name;
	char	   *path;			/* the weights file, relative to the data directory */
	dev_t		dev;			/* and its identity when it was mapped */
	ino_t		ino;
	LmTaskModel *tm;
	const char *device;			/* where it runs: "cpu" or the device's kind */
	size_t		bytes;			/* the mapped weights file */
	int			users;			/* requests running on it now */
	uint64_t	last_used;
	uint64_t	requests;
	uint64_t	failures;
	double		busy_seconds;
	LmBatchQueue queue;			/* its embedding requests, batched */
	LmBatchQueue classify_queue;	/* its classification requests, batched */
	LmBatchQueue score_queue;	/* its scoring requests, batched */
	LmGenQueue	generations;	/* its generations, decoded together */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static LmServed *table[MAX_SERVED];
static int	n_served;
static size_t memory_limit;
static uint64_t clock_ticks;
static LmDevice *device;		/* models move there when they can; NULL: all on the CPU */

void
lm_served_init(size_t limit, LmDevice *dev)
{
	memory_limit = limit;
	device = dev;
}

static void
served_free(LmServed *s)
{
	lm_batch_queue_destroy(&s->queue);
	lm_batch_queue_destroy(&s->classify_queue);
	lm_batch_queue_destroy(&s->score_queue);
	lm_gen_queue_destroy(&s->generations);
	lm_task_model_free(s->tm);
	free(s->key);
	free(s->name);
	free(s->path);
	free(s);
}

static int
find(const LmWireModelRef *ref)
{
	for (int i = 0; i < n_served; i++)
		if (table[i]->database == ref->database && table[i]->model_id == ref->model_id &&
			strcmp(table[i]->key, ref->key) == 0)
			return i;
	return -1;
}

LmServed *
lm_served_acquire(const LmWireModelRef *ref)
{
	LmServed   *s = NULL;
	int			i;

	pthread_mutex_lock(&lock);
	if ((i = find(ref)) >= 0)
	{
		s = table[i];
		s->users++;
		s->last_used = ++clock_ticks;
	}
	pthread_mutex_unlock(&lock);
	return s;
}

const LmTaskModel *
lm_served_model(const LmServed *s)
{
	return s->tm;
}

LmBatchQueue *
lm_served_queue(LmServed *s)
{
	return &s->queue;
}

LmBatchQueue *
lm_served_classify_queue(LmServed *s)
{
	return &s->classify_queue;
}

LmBatchQueue *
lm_served_score_queue(LmServed *s)
{
	return &s->score_queue;
}

LmGenQueue *
lm_served_generations(LmServed *s)
{
	return &s->generations;
}

void
lm_served_release(LmServed *s, double seconds, bool failed)
{
	pthread_mutex_lock(&lock);
	s->users--;
	s->requests++;
	s->failures += failed;
	s->busy_seconds += seconds;
	pthread_mutex_unlock(&lock);
}

/* Unload idle models, least recently used first, until adding needed fits (lock held). */
static void
make_room(size_t needed)
{
	for (;;)
	{
		size_t		total = needed;
		int			oldest = -1;

		for (int i = 0; i < n_served; i++)
		{
			total += table[i]->bytes;
			if (table[i]->users == 0 && (oldest < 0 || table[i]->last_used < table[oldest]->last_used))
				oldest = i;
		}
		if ((total <= memory_limit && n_served < MAX_SERVED) || oldest < 0)
			return;
		fprintf(stderr, "pg_lm server: unloading model \"%s\" (database %u) to stay within %zu MB\n",
				table[oldest]->name, table[oldest]->database, memory_limit >> 20);
		served_free(table[oldest]);
		table[oldest] = table[--n_served];
	}
}

/* Build the model of a LOAD message, outside the lock. */
static LmServed *
build(const LmWireLoad *load, LmError *err)
{
	LmServed   *s = lm_calloc(1, sizeof(LmServed), err);
	LmTensorSet set = {0};

	if (s == NULL)
		return NULL;
	lm_batch_queue_init(&s->queue, LM_BATCH_EMBED);
	lm_batch_queue_init(&s->classify_queue, LM_BATCH_CLASSIFY);
	lm_batch_queue_init(&s->score_queue, LM_BATCH_SCORE);
	lm_gen_queue_init(&s->generations);
	s->database = load->ref.database;
	s->model_id = load->ref.model_id;
	s->key = strdup(load->ref.key);
	s->name = strdup(load->desc.name);
	s->path = strdup(load->weights_path);
	if (s->key == NULL || s->name == NULL || s->path == NULL)
	{
		lm_fail(err, LM_ERR_NO_MEMORY, "out of memory");
		goto fail;
	}
	if ((s->tm = lm_task_model_new(&load->desc, err)) == NULL)
		goto fail;
	if (load->tokenizer_format != LM_TOKENIZER_NONE)
	{
		LmTokenizer *tok = load->tokenizer_format == LM_TOKENIZER_JSON
			? lm_tokenizer_from_json(load->tokenizer, load->tokenizer_len, err)
			: lm_tokenizer_from_spm((const uint8_t *) load->tokenizer, load->tokenizer_len, err);

		if (tok == NULL)
		{
			lm_error_prefix(err, "tokenizer of model \"%s\"", s->name);
			goto fail;
		}
		lm_task_model_set_tokenizer(s->tm, tok);
	}
	/* the whole file is hashed once here: a damaged file is refused, and rewritten by the backend */
	if (lm_weights_file_open(load->weights_path, load->ref.key, true, true, &set, err) != 0)
		goto fail;
	s->bytes = set.mapping_len;
	{
		struct stat st;

		if (stat(load->weights_path, &st) == 0)
		{
			s->dev = st.st_dev;
			s->ino = st.st_ino;
		}
	}
	if (lm_task_model_build(s->tm, &set, err) != 0)
		goto fail;
	s->device = "cpu";
	if (device != NULL)
	{
		LmError		why;
		int			moved;

		lm_error_init(&why, NULL);
		moved = lm_task_model_use_device(s->tm, device, &why);
		if (moved > 0)
			s->device = device->ops->kind;
		else if (moved < 0)
			fprintf(stderr, "pg_lm server: WARNING:  model \"%s\" (database %u) runs on the CPU: %s%s%s\n",
					s->name, s->database, why.message, why.hint[0] ? " " : "", why.hint);
	}
	return s;
fail:
	served_free(s);
	return NULL;
}

int
lm_served_load(const LmWireLoad *load, LmError *err)
{
	LmServed   *s;

	if (strncmp(load->weights_path, "pg_lm/", 6) != 0 || strstr(load->weights_path, "..") != NULL)
		return lm_fail(err, LM_ERR_INVALID_ARGUMENT, "weights path \"%s\" is outside pg_lm/",
					   load->weights_path);
	pthread_mutex_lock(&lock);
	if (find(&load->ref) >= 0)
	{
		pthread_mutex_unlock(&lock);
		return 0;
	}
	pthread_mutex_unlock(&lock);

	if ((s = build(load, err)) == NULL)
		return -1;

	pthread_mutex_lock(&lock);
	if (find(&load->ref) >= 0)
	{
		/* another session loaded it meanwhile */
		pthread_mutex_unlock(&lock);
		served_free(s);
		return 0;
	}
	make_room(s->bytes);
	s->last_used = ++clock_ticks;
	table[n_served++] = s;
	pthread_mutex_unlock(&lock);
	fprintf(stderr, "pg_lm server: loaded model \"%s\" (database %u, id %lld, %zu bytes, on %s)\n",
			s->name, s->database, (long long) s->model_id, s->bytes, s->device);
	return 0;
}

void
lm_served_sweep(void)
{
	pthread_mutex_lock(&lock);
	for (int i = n_served - 1; i >= 0; i--)
	{
		LmServed   *s = table[i];
		struct stat st;

		if (s->users > 0)
			continue;
		if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
			continue;
		fprintf(stderr, "pg_lm server: unloading model \"%s\" (database %u): its weights file "
				"was removed or replaced\n", s->name, s->database);
		served_free(s);
		table[i] = table[--n_served];
	}
	pthread_mutex_unlock(&lock);
}

char *
lm_served_status(uint32_t database)
{
	json_t	   *list = json_array();
	char	   *text;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_served; i++)
	{
		LmServed   *s = table[i];

		uint64_t	batches,
					items,
					steps,
					tokens;
		double		decode_seconds;
		int			queued,
					generating;

		if (s->database != database)
			continue;
		{
			LmBatchQueue *queues[] = {&s->queue, &s->classify_queue, &s->score_queue};

			batches = items = 0;
			queued = 0;
			for (int q = 0; q < 3; q++)
			{
				pthread_mutex_lock(&queues[q]->mu);
				batches += queues[q]->batches;
				items += queues[q]->items;
				queued += queues[q]->queued;
				pthread_mutex_unlock(&queues[q]->mu);
			}
		}
		pthread_mutex_lock(&s->generations.mu);
		steps = s->generations.steps;
		tokens = s->generations.tokens;
		decode_seconds = s->generations.seconds;
		generating = lm_gen_queue_length(&s->generations);
		pthread_mutex_unlock(&s->generations.mu);
		json_array_append_new(list, json_pack("{s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:i,s:i,s:i,s:f,s:I,s:I,s:I,s:I,s:f}",
											  "database", (json_int_t) s->database,
											  "model_id", (json_int_t) s->model_id,
											  "name", s->name,
											  "device", s->device,
											  "bytes", (json_int_t) s->bytes,
											  "requests", (json_int_t) s->requests,
											  "failures", (json_int_t) s->failures,
											  "running", s->users,
											  "queued", queued,
											  "generating", generating,
											  "busy_seconds", s->busy_seconds,
											  "batches", (json_int_t) batches,
											  "batched_requests", (json_int_t) items,
											  "decode_steps", (json_int_t) steps,
											  "decoded_tokens", (json_int_t) tokens,
											  "decode_seconds", decode_seconds));
	}
	pthread_mutex_unlock(&lock);
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return text;
}
