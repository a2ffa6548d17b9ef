/* Secret scans of files and directories (see scan.h). */
#include "harness/scan.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool nsl_file_contains(const char *path, const void *needle, size_t len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        return false;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || st.st_size > (256 << 20)) {
        fclose(f);
        return st.st_size > (256 << 20); /* too big to scan: counted as a finding */
    }
    char *buf = malloc((size_t)st.st_size);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    bool found = buf && memmem(buf, n, needle, len) != NULL;
    free(buf);
    return found;
}

bool nsl_dir_contains(const char *dir, const void *needle, size_t len, char *where,
                      size_t where_len)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            found = nsl_dir_contains(path, needle, len, where, where_len);
        else if (S_ISREG(st.st_mode) && nsl_file_contains(path, needle, len)) {
            snprintf(where, where_len, "%s", path);
            found = true;
        }
    }
    closedir(d);
    return found;
}
