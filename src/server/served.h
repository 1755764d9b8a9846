/*
 * served.h — the models the server has loaded, shared by its sessions.
 *
 * A model is known by its database, id and weights-file key; a backend
 * that finds it missing (NEED_MODEL) sends LOAD with its description,
 * tokenizer and the path of its weights file, which the server maps.
 * Beyond the memory limit the least recently used models nobody is running
 * are unloaded.
 */
#ifndef LM_SERVER_SERVED_H
#define LM_SERVER_SERVED_H

#include "server/batch.h"
#include "wire/wire.h"

typedef struct LmServed LmServed;
struct LmDevice;

/*
 * Models beyond memory_limit bytes are unloaded.  With a device (NULL:
 * none), each model loaded moves there when its architecture can; a model
 * that fails to move stays on the CPU, with a WARNING in the log.
 */
void		lm_served_init(size_t memory_limit, struct LmDevice *device);

/* The loaded model for ref, held until lm_served_release; NULL when not loaded. */
LmServed   *lm_served_acquire(const LmWireModelRef *ref);
const LmTaskModel *lm_served_model(const LmServed *s);

/* Its queues of whole-input requests (batch.h): embeddings, classifications, scores. */
LmBatchQueue *lm_served_queue(LmServed *s);
LmBatchQueue *lm_served_classify_queue(LmServed *s);
LmBatchQueue *lm_served_score_queue(LmServed *s);

/* Its running generations (batch.h). */
LmGenQueue *lm_served_generations(LmServed *s);

/* Done with it; seconds it ran the request, for the statistics. */
void		lm_served_release(LmServed *s, double seconds, bool failed);

/* Load a model (a no-op when it already is). */
int			lm_served_load(const LmWireLoad *load, LmError *err);

/*
 * Unload idle models whose weights file is gone or replaced (lm_drop removes
 * it; a backend rewrites a damaged one): called now and then.
 */
void		lm_served_sweep(void);

/* The models of one database as a JSON array of objects, each with its device (malloc'd). */
char	   *lm_served_status(uint32_t database);

#endif
