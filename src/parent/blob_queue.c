/* Writer job queue (see blob_queue.h). */
#include "parent/blob_queue.h"

void nsl_blob_queue_init(struct nsl_blob_queue *q)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    q->head = q->tail = NULL;
    q->stopping = false;
}

void nsl_blob_queue_destroy(struct nsl_blob_queue *q)
{
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
}

void nsl_blob_queue_submit(struct nsl_blob_queue *q, struct nsl_blob_job *job)
{
    pthread_mutex_lock(&q->lock);
    if (q->stopping) {
        pthread_mutex_unlock(&q->lock);
        job->code = nsl_fail(&job->err, NSL_ERR_UNAVAILABLE, "the store is closing");
        job->done(job);
        return;
    }
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

struct nsl_blob_job *nsl_blob_queue_take(struct nsl_blob_queue *q, size_t max)
{
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->stopping)
        pthread_cond_wait(&q->ready, &q->lock);
    struct nsl_blob_job *first = q->head, *last = first;
    if (first) {
        for (size_t n = 1; (max == 0 || n < max) && last->next; n++)
            last = last->next;
        q->head = last->next;
        if (!q->head)
            q->tail = NULL;
        last->next = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return first;
}

void nsl_blob_queue_stop(struct nsl_blob_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

void nsl_blob_jobs_finish(struct nsl_blob_job *jobs)
{
    while (jobs) {
        struct nsl_blob_job *next = jobs->next;
        jobs->next = NULL;
        jobs->done(jobs); /* may free the job */
        jobs = next;
    }
}
