/*
 * Compile-check fixture for the adapter's NetBSD 10 dm API (DMM_NETBSD_DM_API
 * 10): the parts of NetBSD's sys/dev/dm/dm.h 1.56 (2021-08-21) the adapter
 * uses, as this project reads them; not NetBSD's header. Lines of 1.56:
 *   dm_table_entry_t 79-89, dm_pdev_t 113-123 (udev_name, pdev_numsec,
 *   pdev_secsize), dm_dev_t 132-156 (only name here), dm_target_t 176-205
 *   (init with argc/argv 179, info/table 195-196, sync 197, secsize 198,
 *   max_argc 202), dm_target_* 231-239, DM_MAX_PARAMS_SIZE 242,
 *   dm_table_add_deps 312, dm_pdev_decr 329, dm_pdev_insert 332.
 * The NetBSD 8/9 API (DMM_NETBSD_DM_API 8) is compiled against the real
 * dm.h of the rump kernel's tree (scripts/kmod-check.sh netbsd).
 */
#ifndef DMM_NETBSD_DM_H
#define DMM_NETBSD_DM_H
#include "netbsd-api.h"

#define DM_MAX_TYPE_NAME	16
#define DM_NAME_LEN		128
#define MAX_DEV_NAME		32
#define DM_MAX_PARAMS_SIZE	1024

typedef struct dm_pdev {
	char		 name[MAX_DEV_NAME];
	char		 udev_name[MAX_DEV_NAME];
	struct vnode	*pdev_vnode;
	uint64_t	 pdev_numsec;
	unsigned int	 pdev_secsize;
	int		 ref_cnt;
} dm_pdev_t;

typedef struct dm_dev {
	char		 name[DM_NAME_LEN];
} dm_dev_t;

typedef struct dm_table_entry {
	struct dm_dev	*dm_dev;
	uint64_t	 start;
	uint64_t	 length;
	struct dm_target *target;
	void		*target_config;
} dm_table_entry_t;

typedef struct dm_target {
	char	 name[DM_MAX_TYPE_NAME];
	int	(*init)(dm_table_entry_t *, int, char **);
	int	(*destroy)(dm_table_entry_t *);
	int	(*strategy)(dm_table_entry_t *, struct buf *);
	char	*(*info)(void *);
	char	*(*table)(void *);
	int	(*sync)(dm_table_entry_t *);
	int	(*secsize)(dm_table_entry_t *, unsigned int *);
	uint32_t version[3];
	uint32_t ref_cnt;
	int	 max_argc;
} dm_target_t;

dm_target_t *dm_target_alloc(const char *);
int	 dm_target_insert(dm_target_t *);
dm_target_t *dm_target_lookup(const char *);
int	 dm_target_rem(const char *);
void	 dm_target_unbusy(dm_target_t *);
int	 dm_table_add_deps(dm_table_entry_t *, dm_pdev_t *);
int	 dm_pdev_decr(dm_pdev_t *);
dm_pdev_t *dm_pdev_insert(const char *);
#endif
