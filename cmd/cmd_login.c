/* regship login / logout — check credentials against a registry and store them as docker does. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const login_usage[] = {
        "regship login [--json] [-u USER] [--password-stdin] REGISTRY", NULL};
static const char *const logout_usage[] = {"regship logout [--json] REGISTRY", NULL};

int cmd_login(int argc, char **argv)
{
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"registry\": ..., \"username\": ..., \"logged_in\": true}"},
	        CLI_OPT_END_MARK,
	};
	char **args, *domain = NULL, *user = NULL, *secret = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_client_options copts = RS_CLIENT_OPTIONS_INIT;

	if ((rc = cli_parse(login_usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 1) {
		rc = cli_usage_error(login_usage,
		                     nargs ? "too many arguments" : "missing REGISTRY");
		goto done;
	}
	if ((error = rs_ref_parse_domain(&domain, cli_registry_text(args[0]))) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((rc = cli_check_ca_cert()))
		goto done;
	if (cli_global.username) {
		user = strdup(cli_global.username);
	} else if (cli_global.password_stdin) {
		rc = cli_usage_error(login_usage, "--password-stdin needs -u/--username");
		goto done;
	} else if (!(user = cli_read_line("Username: ", false, true)) || !*user) {
		rc = cli_usage_error(
		        login_usage,
		        isatty(STDIN_FILENO)
		                ? "no username given: give -u USER, or type one at the "
		                  "prompt"
		                : "no username: give -u USER (standard input is not a "
		                  "terminal to ask on)");
		goto done;
	}
	secret = cli_read_secret("Password: ", cli_global.password_stdin);
	if (!secret || !*secret) {
		cli_error("no password: %s",
		          cli_global.password_stdin ? "standard input was empty"
		          : isatty(STDIN_FILENO)    ? "none was typed at the prompt"
		                                    : "use --password-stdin when standard input is "
		                                      "not a terminal");
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	copts.username = user;
	copts.password = secret;
	copts.ca_cert = cli_global.ca_cert;
	cli_client_defaults(&copts);
	if ((error = rs_client_new(&client, &copts)) < 0 ||
	    (error = rs_registry_check(client, domain)) < 0 ||
	    (error = rs_credentials_store(NULL, domain, user, secret)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (json) {
		printf("{");
		cli_json_field("registry", domain, false);
		cli_json_field("username", user, true);
		printf(", \"logged_in\": true}\n");
	} else if (!cli_global.quiet) {
		puts("Login Succeeded");
	}
done:
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	free(user);
	free(domain);
	rs_client_free(client);
	free(args);
	return rc;
}

int cmd_logout(int argc, char **argv)
{
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"registry\": ..., \"removed\": true|false}"},
	        CLI_OPT_END_MARK,
	};
	char **args, *domain = NULL;
	int nargs, rc, error;

	if ((rc = cli_parse(logout_usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 1) {
		rc = cli_usage_error(logout_usage,
		                     nargs ? "too many arguments" : "missing REGISTRY");
		goto done;
	}
	if ((error = rs_ref_parse_domain(&domain, cli_registry_text(args[0]))) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	error = rs_credentials_erase(NULL, domain);
	if (json && (error == RS_ENOTFOUND || error == 0)) {
		printf("{");
		cli_json_field("registry", domain, false);
		printf(", \"removed\": %s}\n", error ? "false" : "true");
	} else if (error == RS_ENOTFOUND) {
		cli_note("not logged in to %s", domain);
	} else if (error < 0) {
		rc = cli_fail(error);
	} else if (!cli_global.quiet) {
		printf("Removing login credentials for %s\n", domain);
	}
done:
	free(domain);
	free(args);
	return rc;
}
