/*
 * /sbin/init of the DragonFly test guest. The host writes one line on the
 * control disk (/dev/vbd0): "SCENARIO SECTORS [ARG...]", SECTORS being the
 * mirror's data size. The legs follow as /dev/vbd1, /dev/vbd2, ... The
 * driver runs the scenario through DragonFly's dm ioctls and prints what
 * the host reads on the serial console: "RESULT PASS" or "RESULT FAIL why",
 * then "DFT-END scenario rc=N", and reboots (QEMU then exits).
 */
#include "rt.h"
#include "dm.h"
#include "scenario.h"

#define KERN	1
#define KERN_VERSION 4

static char control_line[512];

static const struct scenario *
find(const char *name)
{
	const struct scenario *s;

	for (s = scenarios; s->name != NULL; s++)
		if (strcmp(s->name, name) == 0)
			return (s);
	return (NULL);
}

static int
read_control(struct run *run)
{
	static char sector[512] __attribute__((aligned(4096)));
	char *p, *name;
	int fd, n;

	fd = sys_open("/dev/vbd0", O_RDONLY);
	if (fd < 0 || sys_pread(fd, sector, sizeof(sector), 0) != 512)
		return (-1);
	sys_close(fd);
	for (n = 0; n < 511 && sector[n] != '\n' && sector[n] != '\0'; n++)
		control_line[n] = sector[n];
	control_line[n] = '\0';
	name = control_line;
	for (p = name; *p != ' ' && *p != '\0'; p++)
		;
	if (*p == ' ')
		*p++ = '\0';
	run->name = name;
	run->args = p;
	run->sectors = parse_u64((const char **)&run->args);
	return (0);
}

int
main(void)
{
	static char version[512];
	const struct scenario *s;
	struct run run;
	char *nl;
	int rc;

	memset(&run, 0, sizeof(run));
	sys_sysctl_string(KERN, KERN_VERSION, version, sizeof(version));
	if ((nl = strchr(version, '\n')) != NULL)
		*nl = '\0';
	out("\nDFT kernel: %s\n", version);
	if (read_control(&run) != 0) {
		out("RESULT FAIL no control line on /dev/vbd0\n");
		run.name = "?";
		rc = 2;
	} else if ((s = find(run.name)) == NULL) {
		out("RESULT FAIL unknown scenario '%s'\n", run.name);
		rc = 2;
	} else {
		out("DFT scenario %s, %lu sectors, args '%s'\n", run.name,
		    run.sectors, run.args);
		rc = s->run(&run);
		if (rc == 0)
			out("RESULT PASS\n");
	}
	out("DFT-END %s rc=%d\n", run.name, rc);
	sys_reboot();
}
