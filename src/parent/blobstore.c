/* Backend dispatch and the helpers every backend shares (see blobstore.h). */
#include "parent/blobstore.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nsl_err nsl_blobstore_get(struct nsl_blobstore *s, const char *ns, const char *key,
                          struct nsl_blob_value *out, struct nsl_error *err)
{
    memset(out, 0, sizeof *out);
    return s->backend->get(s, ns, key, out, err);
}

nsl_err nsl_blobstore_list(struct nsl_blobstore *s, const struct nsl_blob_query *q,
                           struct nsl_blob_page *page, struct nsl_error *err)
{
    memset(page, 0, sizeof *page);
    return s->backend->list(s, q, page, err);
}

void nsl_blobstore_submit(struct nsl_blobstore *s, struct nsl_blob_job *job)
{
    job->code = NSL_OK;
    job->err.code = NSL_OK;
    job->err.message[0] = 0;
    job->next = NULL;
    s->backend->submit(s, job);
}

/* A job whose submitter sleeps until the writer thread has finished it. */
struct sync_job {
    struct nsl_blob_job job;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
};

static void sync_done(struct nsl_blob_job *job)
{
    struct sync_job *sj = job->arg;
    pthread_mutex_lock(&sj->lock);
    sj->finished = true;
    pthread_cond_signal(&sj->cond);
    pthread_mutex_unlock(&sj->lock);
}

/* Submits the job and sleeps until it is finished. */
static nsl_err run_sync(struct nsl_blobstore *s, struct sync_job *sj, struct nsl_error *err)
{
    sj->job.done = sync_done;
    sj->job.arg = sj;
    pthread_mutex_init(&sj->lock, NULL);
    pthread_cond_init(&sj->cond, NULL);
    nsl_blobstore_submit(s, &sj->job);
    pthread_mutex_lock(&sj->lock);
    while (!sj->finished)
        pthread_cond_wait(&sj->cond, &sj->lock);
    pthread_mutex_unlock(&sj->lock);
    pthread_cond_destroy(&sj->cond);
    pthread_mutex_destroy(&sj->lock);
    if (sj->job.code != NSL_OK && err)
        *err = sj->job.err;
    return sj->job.code;
}

nsl_err nsl_blobstore_write(struct nsl_blobstore *s, const struct nsl_blob_write *writes,
                            size_t count, uint64_t *versions, struct nsl_error *err)
{
    struct sync_job sj = {.job = {.writes = writes, .count = count, .versions = versions}};
    return run_sync(s, &sj, err);
}

nsl_err nsl_blobstore_prune(struct nsl_blobstore *s, struct nsl_blob_prune *p,
                            struct nsl_error *err)
{
    struct sync_job sj = {.job = {.prune = p}};
    return run_sync(s, &sj, err);
}

void nsl_blobstore_stats(struct nsl_blobstore *s, struct nsl_blobstore_stats *out)
{
    memset(out, 0, sizeof *out);
    s->backend->stats(s, out);
}

void nsl_blobstore_close(struct nsl_blobstore *s)
{
    if (s)
        s->backend->close(s);
}

void nsl_blob_value_free(struct nsl_blob_value *v)
{
    free(v->value);
    memset(v, 0, sizeof *v);
}

void nsl_blob_page_free(struct nsl_blob_page *page)
{
    for (size_t i = 0; i < page->count; i++) {
        free(page->items[i].key);
        free(page->items[i].value);
    }
    free(page->items);
    memset(page, 0, sizeof *page);
}

int nsl_blob_prefix_upper_bound(const char *prefix, char **upper)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
        n--;
    *upper = NULL;
    if (n == 0)
        return 0;
    *upper = strndup(prefix, n);
    if (!*upper)
        return -1;
    (*upper)[n - 1] = (char)((unsigned char)(*upper)[n - 1] + 1);
    return 0;
}

bool nsl_blob_page_fits(const struct nsl_blob_query *q, const struct nsl_blob_page *page,
                        size_t bytes, size_t cost)
{
    return page->count < q->limit && (page->count == 0 || bytes + cost <= q->max_bytes);
}

bool nsl_blob_check_passes(const struct nsl_blob_write *w, uint64_t current, bool live)
{
    return (w->op == NSL_BLOB_PUT || live) && w->expected == current;
}

nsl_err nsl_blob_check_failed(const struct nsl_blob_job *job, size_t i, uint64_t current, bool live,
                              struct nsl_error *err)
{
    const struct nsl_blob_write *w = &job->writes[i];
    char at[32] = "";
    if (job->count > 1) /* "writes[i]: " in a batch, nothing for a single write */
        snprintf(at, sizeof at, "writes[%zu]: ", i);
    if (w->op == NSL_BLOB_DELETE && !live)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "%sthe key does not exist", at);
    return nsl_fail(err, NSL_ERR_CONFLICT,
                    "%sexpectedVersion is %" PRIu64 " but the current version is %" PRIu64, at,
                    w->expected, current);
}
