/* The queue between the host channel's threads, which submit write jobs, and a blob-store
 * backend's writer threads, which take them in groups (one durable commit per group). Shared by
 * the SQLite and PostgreSQL writers. */
#ifndef NSL_PARENT_BLOB_QUEUE_H
#define NSL_PARENT_BLOB_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "parent/blobstore.h"

struct nsl_blob_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct nsl_blob_job *head, *tail;
    bool stopping;
};

void nsl_blob_queue_init(struct nsl_blob_queue *q);
void nsl_blob_queue_destroy(struct nsl_blob_queue *q);
/* Appends job; once the queue is stopping, finishes it at once with UNAVAILABLE instead. */
void nsl_blob_queue_submit(struct nsl_blob_queue *q, struct nsl_blob_job *job);
/* Waits for jobs and takes up to max of them (0: all), in order, as a list linked by next.
 * NULL once the queue is stopping and empty: the writer then ends. */
struct nsl_blob_job *nsl_blob_queue_take(struct nsl_blob_queue *q, size_t max);
/* Wakes every writer waiting in take; jobs already queued are still taken. */
void nsl_blob_queue_stop(struct nsl_blob_queue *q);
/* Calls done on each job of a taken list (done may free the job). */
void nsl_blob_jobs_finish(struct nsl_blob_job *jobs);

#endif
