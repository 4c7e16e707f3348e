#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

int
mkdir_p(const char *path, struct berr *err)
{
	char *p = xstrdup(path), *s, c;
	struct stat st;
	int ret = -1;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (*p && mkdir(p, 0700) < 0 && errno != EEXIST) {
			berr_set(err, "cannot create directory \"%s\": %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		berr_set(err, "\"%s\" is not a directory", path);
		goto out;
	}
	ret = 0;
out:
	free(p);
	return ret;
}
