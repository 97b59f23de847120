/*
 * NetBSD's device-mapper driven as dmsetup drives it: NETBSD_DM_IOCTL on
 * /dev/mapper/control with proplib dictionaries (see dmctl.h).
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <prop/proplib.h>
#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#include <rump/rumpdefs.h>

#include "dmctl.h"

/* _IOWR(0xfd, 0, struct plistref) on NetBSD/amd64. */
#define NETBSD_DM_IOCTL		0xc010fd00UL
#define DM_STATUS_TABLE_FLAG	(1 << 4)
#define NB_S_IFCHR		0020000
/* NetBSD's makedev(). */
#define NB_MAKEDEV(x, y)	((uint64_t)((((x) << 8) & 0x000fff00) | \
				    (((y) << 12) & 0xfff00000) | ((y) & 0x000000ff)))

static int control = -1;
static uint64_t dm_major;

int
dm_open_control(void)
{
	uint8_t sb[256];
	uint64_t rdev;

	/* NetBSD/amd64's struct stat: st_rdev at byte 40. */
	if (rump_sys_stat("/dev/mapper/control", (void *)sb) != 0)
		return (-1);
	memcpy(&rdev, sb + 40, sizeof(rdev));
	dm_major = (rdev >> 8) & 0xfff;
	control = rump_sys_open("/dev/mapper/control", RUMP_O_RDWR);
	return (control < 0 ? -1 : 0);
}

static prop_dictionary_t
request(const char *cmd, const char *name, uint32_t flags)
{
	prop_dictionary_t d = prop_dictionary_create();
	prop_array_t version = prop_array_create();

	prop_array_add_uint32(version, 4);
	prop_array_add_uint32(version, 0);
	prop_array_add_uint32(version, 0);
	prop_dictionary_set(d, "version", version);
	prop_object_release(version);
	prop_dictionary_set_cstring(d, "command", cmd);
	if (name != NULL)
		prop_dictionary_set_cstring(d, "name", name);
	prop_dictionary_set_uint32(d, "flags", flags);
	return (d);
}

/*
 * The ioctl, and the reply. This dm (7.99) returns the copyout's result,
 * not the command's: a refusal shows only in what the reply lacks.
 */
static prop_dictionary_t
dm_send(prop_dictionary_t in)
{
	struct {
		void	*plist;
		size_t	 len;
	} pref;
	prop_dictionary_t out;
	char *xml;
	int rv;

	xml = prop_dictionary_externalize(in);
	prop_object_release(in);
	if (xml == NULL)
		return (NULL);
	pref.plist = xml;
	pref.len = strlen(xml) + 1;
	rv = rump_sys_ioctl(control, NETBSD_DM_IOCTL, &pref);
	free(xml);
	if (rv != 0)
		return (NULL);
	if (getenv("NBTEST_DEBUG") != NULL)
		fprintf(stderr, "dm reply: %s\n", (char *)pref.plist);
	out = prop_dictionary_internalize(pref.plist);
	/* The kernel mapped the reply into this process. */
	munmap(pref.plist, pref.len);
	return (out);
}

/* Whether the reply to cmd ("names", "targets") lists name. */
static int
listed(const char *cmd, const char *name)
{
	prop_dictionary_t r, entry;
	prop_array_t list;
	const char *n;
	unsigned i;
	int found = 0;

	if ((r = dm_send(request(cmd, NULL, 0))) == NULL)
		return (0);
	list = prop_dictionary_get(r, "cmd_data");
	for (i = 0; list != NULL && i < prop_array_count(list); i++) {
		entry = prop_array_get(list, i);
		if (prop_dictionary_get_cstring_nocopy(entry, "name", &n) &&
		    strcmp(n, name) == 0)
			found = 1;
	}
	prop_object_release(r);
	return (found);
}

int
dm_exists(const char *name)
{
	return (listed("names", name));
}

int
dm_text(const char *name, int table, char *buf, size_t len)
{
	prop_dictionary_t r, target;
	prop_array_t targets;
	const char *params = NULL;

	buf[0] = '\0';
	r = dm_send(request(table ? "table" : "status", name,
	    table ? DM_STATUS_TABLE_FLAG : 0));
	if (r == NULL)
		return (-1);
	targets = prop_dictionary_get(r, "cmd_data");
	if (targets == NULL || prop_array_count(targets) != 1) {
		prop_object_release(r);
		return (-1);
	}
	target = prop_array_get(targets, 0);
	if (prop_dictionary_get_cstring_nocopy(target, "params", &params))
		snprintf(buf, len, "%s", params);
	prop_object_release(r);
	return (params != NULL ? 1 : 0);
}

int
dm_create(const char *name, uint64_t sectors, const char *type,
    const char *params, char *node, size_t nodelen)
{
	prop_dictionary_t d, r, t;
	prop_array_t cmd;
	uint32_t minor = 0;
	char text[16];

	if ((r = dm_send(request("create", name, 0))) == NULL)
		return (-1);
	prop_dictionary_get_uint32(r, "minor", &minor);
	prop_object_release(r);
	if (!dm_exists(name))
		return (-1);
	d = request("reload", name, 0);
	prop_dictionary_set_uint32(d, "minor", minor);
	cmd = prop_array_create();
	t = prop_dictionary_create();
	prop_dictionary_set_cstring(t, "type", type);
	prop_dictionary_set_uint64(t, "start", 0);
	prop_dictionary_set_uint64(t, "length", sectors);
	prop_dictionary_set_cstring(t, "params", params);
	prop_array_add(cmd, t);
	prop_object_release(t);
	prop_dictionary_set(d, "cmd_data", cmd);
	prop_object_release(cmd);
	if ((r = dm_send(d)) != NULL)
		prop_object_release(r);
	if ((r = dm_send(request("resume", name, 0))) != NULL)
		prop_object_release(r);
	/* Loaded only if the active table has the target. */
	if (dm_text(name, 1, text, sizeof(text)) < 0) {
		dm_remove(name);
		return (-1);
	}
	if (node != NULL) {
		snprintf(node, nodelen, "/dev/r%s", name);
		rump_sys_unlink(node);
		if (rump_sys_mknod(node, NB_S_IFCHR | 0600,
		    NB_MAKEDEV(dm_major, minor)) != 0)
			return (-1);
	}
	return (0);
}

int
dm_remove(const char *name)
{
	prop_dictionary_t r;

	if ((r = dm_send(request("remove", name, 0))) != NULL)
		prop_object_release(r);
	return (dm_exists(name) ? -1 : 0);
}

int
dm_has_target(const char *type)
{
	return (listed("targets", type));
}
