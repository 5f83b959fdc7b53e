/*
 * local_command.c - deliver to "|command" targets, without a shell.
 *
 * Postfix runs these with /bin/sh -c. postern runs no shell (STYLE.md):
 * the command is split into an argv with shell-like quoting ('...',
 * "...", backslash) and run with execve(), searching /usr/bin:/bin when
 * the program has no '/'. A command that needs the shell (pipes,
 * redirections, $variables, `...`) is refused with a temporary error
 * 4.3.5 so the admin can fix the alias (or wrap it in a script) before
 * any mail is returned.
 *
 * The caller has already become the user the command runs as (never
 * root). The message goes to stdin; stdout and stderr go to a memory
 * file whose first line ends up in the reason, as Postfix does. The
 * command runs in its own process group, killed after command_time_limit.
 * Exit statuses map as Postfix's sys_exits table: 0 sent, EX_TEMPFAIL and
 * EX_OSERR deferred, other sysexits bounced with their DSN code, any other
 * status bounced 5.3.0, a signal or the time limit deferred.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "io.h"
#include "local.h"
#include "log.h"
#include "mem.h"

#define LOCAL_COMMAND_MAX	4096
#define LOCAL_OUTPUT_MAX	300

static const struct {
	int status;
	const char *dsn;
	const char *text;
} local_sysexits[] = {
	{ 64, "5.3.0", "command line usage error" },
	{ 65, "5.6.0", "data format error" },
	{ 66, "5.3.0", "cannot open input" },
	{ 67, "5.1.1", "user unknown" },
	{ 68, "5.1.2", "host name unknown" },
	{ 69, "5.3.0", "service unavailable" },
	{ 70, "5.3.0", "internal software error" },
	{ 71, "4.3.0", "system resource problem" },
	{ 72, "5.3.0", "critical OS file missing" },
	{ 73, "5.2.0", "can't create user output file" },
	{ 74, "5.3.0", "input/output error" },
	{ 75, "4.3.0", "temporary failure" },
	{ 76, "5.5.0", "remote error in protocol" },
	{ 77, "5.7.0", "permission denied" },
	{ 78, "5.3.5", "local configuration error" },
};

char **
local_command_split(const char *command, const char **error_r)
{
	char **argv = xcalloc(1, sizeof(*argv));
	struct buf *arg = buf_new(LOCAL_COMMAND_MAX);
	size_t count = 0;
	const char *p;
	char quote = 0;
	bool have_arg = false;

	for (p = command;; p++) {
		char c = *p;

		if (c == '\0' || (quote == 0 && (c == ' ' || c == '\t' ||
		    c == '\n'))) {
			if (quote != 0) {
				*error_r = "unbalanced quote in command";
				goto fail;
			}
			if (have_arg) {
				argv = xreallocarray(argv, count + 2,
				    sizeof(*argv));
				argv[count++] = buf_strdup(arg);
				argv[count] = NULL;
				buf_reset(arg);
				have_arg = false;
			}
			if (c == '\0')
				break;
			continue;
		}
		if (quote == '\'' ) {
			if (c == '\'')
				quote = 0;
			else if (buf_add_char(arg, c) < 0)
				goto toolong;
			continue;
		}
		if (c == '\\' && p[1] != '\0' && (quote == 0 ||
		    p[1] == '"' || p[1] == '\\' || p[1] == '$' ||
		    p[1] == '`')) {
			p++;
			if (buf_add_char(arg, *p) < 0)
				goto toolong;
			have_arg = true;
			continue;
		}
		if (quote == '"') {
			if (c == '"')
				quote = 0;
			else if (c == '$' || c == '`') {
				*error_r = "shell expansion in command";
				goto fail;
			} else if (buf_add_char(arg, c) < 0)
				goto toolong;
			continue;
		}
		if (c == '\'' || c == '"') {
			quote = c;
			have_arg = true;
			continue;
		}
		if (strchr("|&;<>()$`", c) != NULL) {
			*error_r = "shell syntax in command (no shell is run)";
			goto fail;
		}
		if (buf_add_char(arg, c) < 0)
			goto toolong;
		have_arg = true;
	}
	buf_free(&arg);
	if (count == 0) {
		*error_r = "empty command";
		config_list_free(&argv);
		return NULL;
	}
	return argv;
toolong:
	*error_r = "command too long";
fail:
	buf_free(&arg);
	config_list_free(&argv);
	return NULL;
}

static volatile sig_atomic_t local_command_timed_out;
static volatile pid_t local_command_pid;

static void
local_command_alarm(int sig)
{
	(void)sig;
	local_command_timed_out = 1;
	/* The command may not have called setsid() yet: kill it too. */
	if (local_command_pid > 0) {
		kill(-local_command_pid, SIGKILL);
		kill(local_command_pid, SIGKILL);
	}
}

static char *
local_env(const char *name, const char *value)
{
	return xasprintf("%s=%s", name, value != NULL ? value : "");
}

/* The grandchild: becomes the command. Never returns. */
static void
local_command_exec(char **argv, const struct local_command_env *env,
    int in_fd, int out_fd)
{
	char *envp[12];
	static const char *const path[] = { "/usr/bin", "/bin" };
	size_t i;
	int saved = ENOENT;

	setsid();
	signal(SIGPIPE, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(71);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	envp[0] = local_env("HOME", env->home);
	envp[1] = local_env("USER", env->user);
	envp[2] = local_env("LOGNAME", env->user);
	envp[3] = local_env("SHELL", env->shell);
	envp[4] = local_env("PATH", "/usr/bin:/bin");
	envp[5] = local_env("SENDER", env->sender);
	envp[6] = local_env("RECIPIENT", env->recipient);
	envp[7] = local_env("EXTENSION", env->extension);
	envp[8] = local_env("LOCAL", env->local);
	envp[9] = local_env("DOMAIN", env->domain);
	envp[10] = NULL;
	if (env->home == NULL || chdir(env->home) < 0)
		(void)chdir("/");
	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		saved = errno;
	} else {
		for (i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
			char *full = xasprintf("%s/%s", path[i], argv[0]);

			execve(full, argv, envp);
			if (errno != ENOENT)
				saved = errno;
			free(full);
		}
	}
	dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(saved));
	/* Like a shell: 127 not found, 126 not executable (both bounce),
	 * a resource problem is EX_OSERR (retried). */
	_exit(saved == ENOENT ? 127 : saved == EACCES ? 126 : 71);
}

/* The first line of the command's output, printable ASCII only. */
static char *
local_command_output(int fd)
{
	char data[LOCAL_OUTPUT_MAX + 1];
	ssize_t n = pread(fd, data, LOCAL_OUTPUT_MAX, 0);
	ssize_t i;

	if (n <= 0)
		return xstrdup("");
	for (i = 0; i < n && data[i] != '\n'; i++) {
		if ((unsigned char)data[i] < 0x20 ||
		    (unsigned char)data[i] >= 0x7f)
			data[i] = '?';
	}
	data[i] = '\0';
	return xstrdup(data);
}

void
local_command_run(const char *command, const struct local_command_env *env,
    const char *prepend, struct queue_file *q, long long time_limit,
    struct rec *out)
{
	struct sigaction sa, old_alarm, old_pipe;
	const char *error;
	char **argv, *output, *reason;
	const char *dsn = "5.3.0", *text = NULL;
	enum delivery_status status;
	int in_pipe[2], out_fd, wstatus = 0;
	size_t i;
	pid_t pid;

	if ((argv = local_command_split(command, &error)) == NULL) {
		reason = xasprintf("cannot run command \"%s\": %s", command,
		    error);
		log_warn("%s", reason);
		delivery_result_put(out, DELIVERY_DEFERRED, "4.3.5", reason);
		free(reason);
		return;
	}
	if ((out_fd = memfd_create("local-output", MFD_CLOEXEC)) < 0 ||
	    pipe2(in_pipe, O_CLOEXEC) < 0) {
		reason = xasprintf("cannot run command: %s", strerror(errno));
		delivery_result_put(out, DELIVERY_DEFERRED, "4.3.0", reason);
		free(reason);
		if (out_fd >= 0)
			close(out_fd);
		config_list_free(&argv);
		return;
	}
	local_command_timed_out = 0;
	local_command_pid = 0;
	if ((pid = fork()) < 0) {
		reason = xasprintf("cannot fork: %s", strerror(errno));
		delivery_result_put(out, DELIVERY_DEFERRED, "4.3.0", reason);
		free(reason);
		close(in_pipe[0]);
		close(in_pipe[1]);
		close(out_fd);
		config_list_free(&argv);
		return;
	}
	if (pid == 0)
		local_command_exec(argv, env, in_pipe[0], out_fd);
	local_command_pid = pid;
	close(in_pipe[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = local_command_alarm;
	sigaction(SIGALRM, &sa, &old_alarm);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	alarm(time_limit > 0 && time_limit < 86400 * 7 ?
	    (unsigned)time_limit : 1000);
	/* A command that exits without reading everything is judged by its
	 * exit status alone, so write errors (EPIPE) are not fatal here. */
	if (io_write_all(in_pipe[1], prepend, strlen(prepend)) == 0)
		(void)queue_copy_content(q, in_pipe[1]);
	close(in_pipe[1]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			wstatus = -1;
			break;
		}
	}
	alarm(0);
	sigaction(SIGALRM, &old_alarm, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	output = local_command_output(out_fd);
	close(out_fd);

	if (local_command_timed_out) {
		status = DELIVERY_DEFERRED;
		dsn = "4.3.0";
		reason = xasprintf("command time limit exceeded: \"%s\"",
		    command);
	} else if (wstatus != -1 && WIFEXITED(wstatus) &&
	    WEXITSTATUS(wstatus) == 0) {
		status = DELIVERY_SENT;
		dsn = "2.0.0";
		reason = xasprintf("delivered to command: %s", command);
	} else if (wstatus != -1 && WIFEXITED(wstatus)) {
		int code = WEXITSTATUS(wstatus);

		for (i = 0; i < sizeof(local_sysexits) /
		    sizeof(local_sysexits[0]); i++) {
			if (local_sysexits[i].status == code) {
				dsn = local_sysexits[i].dsn;
				text = local_sysexits[i].text;
			}
		}
		status = dsn[0] == '4' ? DELIVERY_DEFERRED : DELIVERY_BOUNCED;
		reason = xasprintf("command died with status %d%s%s: "
		    "\"%s\"%s%s", code, text != NULL ? ", " : "",
		    text != NULL ? text : "", command,
		    output[0] != '\0' ? ". Command output: " : "", output);
	} else {
		status = DELIVERY_DEFERRED;
		dsn = "4.3.0";
		reason = wstatus != -1 && WIFSIGNALED(wstatus) ?
		    xasprintf("command killed by signal %d: \"%s\"",
		    WTERMSIG(wstatus), command) :
		    xasprintf("command status unknown: \"%s\"", command);
	}
	delivery_result_put(out, status, dsn, reason);
	free(reason);
	free(output);
	config_list_free(&argv);
}
