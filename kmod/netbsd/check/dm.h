/*
 * Compile-check fixture: the parts of NetBSD's sys/dev/dm/dm.h (1.56) the
 * adapter uses, as this project reads them. Not NetBSD's header.
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
