/*
 * dm commands over the ioctl DragonFly's dmsetup uses, with the property
 * lists written and read as text: the driver needs no libprop.
 */
#include "dm.h"

#define NETBSD_DM_IOCTL	0xc010fd00UL	/* _IOWR(0xfd, 0, struct plistref) */
#define DM_STATUS_TABLE_FLAG (1 << 4)

struct plistref {
	void	*plist;
	size_t	 len;
};

static int control = -1;
static char request[8192];

int
dm_open(void)
{
	if (control < 0)
		control = sys_open("/dev/mapper/control", O_RDWR);
	return (control);
}

static int
request_text(const char *cmd, const char *name, unsigned flags,
    const char *extra)
{
	return (format(request, sizeof(request),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "<key>version</key><array><integer>4</integer>"
	    "<integer>0</integer><integer>0</integer></array>\n"
	    "<key>flags</key><integer>%u</integer>\n"
	    "<key>command</key><string>%s</string>\n"
	    "%s%s%s%s</dict>\n</plist>\n", flags, cmd,
	    name ? "<key>name</key><string>" : "", name ? name : "",
	    name ? "</string>\n" : "", extra ? extra : ""));
}

static int
send(const char *cmd, const char *name, unsigned flags, const char *extra,
    char *reply, size_t len)
{
	struct plistref ref;
	size_t n;
	int r;

	if (dm_open() < 0)
		return (-control);
	ref.len = (size_t)request_text(cmd, name, flags, extra) + 1;
	ref.plist = request;
	r = sys_ioctl(control, NETBSD_DM_IOCTL, &ref);
	if (reply != NULL && len > 0)
		reply[0] = '\0';
	if (ref.plist != request && ref.plist != NULL) {
		n = ref.len < len ? ref.len : len - 1;
		if (reply != NULL && len > 0) {
			memcpy(reply, ref.plist, n);
			reply[n] = '\0';
		}
		sys_munmap(ref.plist, ref.len);
	}
	return (r < 0 ? -r : 0);
}

int
dm_command(const char *cmd, const char *name, const char *extra,
    char *reply, size_t len)
{
	return (send(cmd, name, 0, extra, reply, len));
}

/* create, reload and resume one device of one table line; undone on error. */
int
dm_load(const char *name, uint64_t sectors, const char *type,
    const char *params)
{
	static char table[1024];
	int r;

	format(table, sizeof(table),
	    "<key>cmd_data</key><array><dict>"
	    "<key>type</key><string>%s</string>"
	    "<key>start</key><integer>0</integer>"
	    "<key>length</key><integer>%lu</integer>"
	    "<key>params</key><string>%s</string>"
	    "</dict></array>\n", type, sectors, params);
	if ((r = send("create", name, 0, NULL, NULL, 0)) != 0)
		return (r);
	if ((r = send("reload", name, 0, table, NULL, 0)) != 0 ||
	    (r = send("resume", name, 0, NULL, NULL, 0)) != 0) {
		dm_remove(name);
		return (r);
	}
	return (0);
}

int
dm_remove(const char *name)
{
	return (send("remove", name, 0, NULL, NULL, 0));
}

/* The params string of the first target: its status, or its table. */
int
dm_status(const char *name, int table, char *text, size_t len)
{
	static char reply[8192];
	const char *key = "<key>params</key>";
	char *at, *end;
	int r;

	text[0] = '\0';
	r = send(table ? "table" : "status", name,
	    table ? DM_STATUS_TABLE_FLAG : 0, NULL, reply, sizeof(reply));
	if (r != 0)
		return (r);
	if ((at = strstr(reply, key)) == NULL ||
	    (at = strstr(at, "<string>")) == NULL ||
	    (end = strstr(at, "</string>")) == NULL)
		return (0);
	at += 8;
	if ((size_t)(end - at) >= len)
		end = at + len - 1;
	memcpy(text, at, (size_t)(end - at));
	text[end - at] = '\0';
	return (0);
}

int
dm_message(const char *name, const char *message)
{
	static char extra[512];

	format(extra, sizeof(extra),
	    "<key>sector</key><integer>0</integer>"
	    "<key>message</key><string>%s</string>\n", message);
	return (send("message", name, 0, extra, NULL, 0));
}

int
dm_has_target(const char *type)
{
	static char reply[8192];
	char want[64];

	if (send("targets", NULL, 0, NULL, reply, sizeof(reply)) != 0)
		return (0);
	format(want, sizeof(want), "<string>%s</string>", type);
	return (strstr(reply, want) != NULL);
}
