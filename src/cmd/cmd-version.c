/*
 * berth version - berth's version and the libraries it runs with.
 */
#include <stdio.h>

#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include "build-info.h"
#include "cmd/cmd.h"
#include "config.h"
#include "util/banned.h"

int
cmd_version(struct ctx *ctx, int argc, char **argv)
{
	int major, minor, rev, r;
	char git2[32];
	json_t *out;

	if ((r = parse_no_options(ctx, argc, argv)) >= 0)
		return r;
	git_libgit2_version(&major, &minor, &rev);
	snprintf(git2, sizeof(git2), "%d.%d.%d", major, minor, rev);
	if (ctx->format == FORMAT_JSON) {
		out = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
			"format_version", "1.0",
			"version", BERTH_VERSION, "build", BERTH_BUILD,
			"libraries",
			"libyaml", yaml_get_version_string(),
			"libcurl", curl_version_info(CURLVERSION_NOW)->version,
			"jansson", jansson_version_str(),
			"openssl", OpenSSL_version(OPENSSL_VERSION),
			"libgit2", git2,
			"sqlite", sqlite3_libversion(),
			"libmicrohttpd", MHD_get_version());
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(out);
		return EXIT_OK;
	}
	printf("berth %s (build %s)\n", BERTH_VERSION, BERTH_BUILD);
	printf("  libyaml        %s\n", yaml_get_version_string());
	printf("  libcurl        %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("  jansson        %s\n", jansson_version_str());
	printf("  openssl        %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  libgit2        %s\n", git2);
	printf("  sqlite         %s\n", sqlite3_libversion());
	printf("  libmicrohttpd  %s\n", MHD_get_version());
	return EXIT_OK;
}
