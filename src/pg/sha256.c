/*
 * sha256.c — the SHA-256 that _lm.model_file records for every file an import
 * reads (PostgreSQL's own cryptohash, as lowercase hex).
 */
#include "pg/pg_lm.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#define HASH_BLOCK (1 << 20)

static pg_cryptohash_ctx *
sha256_start(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialise SHA-256");
	return ctx;
}

static void
sha256_update(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not compute SHA-256");
}

static void
sha256_finish(pg_cryptohash_ctx *ctx, char *hex)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	hex_encode((char *) digest, PG_SHA256_DIGEST_LENGTH, hex);
	hex[LM_SHA256_HEX_LENGTH - 1] = '\0';
}

void
lm_pg_sha256_file(const char *path, char *hex, int64 *bytes)
{
	pg_cryptohash_ctx *ctx = sha256_start();
	char	   *buf = palloc(HASH_BLOCK);
	int			fd = lm_pg_open_regular_file(path);
	ssize_t		n;
	int64		total = 0;

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not open file \"%s\": %m", path)));
	while ((n = read(fd, buf, HASH_BLOCK)) > 0)
	{
		CHECK_FOR_INTERRUPTS();
		sha256_update(ctx, buf, n);
		total += n;
	}
	if (n < 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not read file \"%s\": %m", path)));
	CloseTransientFile(fd);
	sha256_finish(ctx, hex);
	*bytes = total;
	pfree(buf);
}

void
lm_pg_sha256_bytes(const void *data, size_t len, char *hex)
{
	pg_cryptohash_ctx *ctx = sha256_start();

	sha256_update(ctx, data, len);
	sha256_finish(ctx, hex);
}
