-- server_version_num 90400. Once per connection, the role's privileges:
SELECT current_setting('is_superuser') = 'on' AS archive_status;

-- Then per snapshot, in one pipeline (with every privilege; without one,
-- the columns that need it are left out):

-- node
SELECT pg_is_in_recovery() AS in_recovery,
       extract(epoch FROM now())::float8 AS server_time,
       current_setting('synchronous_standby_names') AS synchronous_standby_names,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('wal_receiver_timeout') AS wal_receiver_timeout,
       current_setting('wal_receiver_status_interval') AS wal_receiver_status_interval,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_xlog_location()::text END AS current_lsn,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_xlogfile_name(pg_current_xlog_location()) END AS current_walfile,
       CASE WHEN pg_is_in_recovery() THEN pg_last_xlog_receive_location()::text END AS receive_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_xlog_replay_location()::text END AS replay_lsn,
       CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM pg_last_xact_replay_timestamp())::float8 END AS last_replay,
       CASE WHEN pg_is_in_recovery() THEN pg_is_xlog_replay_paused() END AS replay_paused;

-- replication
SELECT pid,
       application_name,
       host(client_addr) AS client_addr,
       state,
       sync_state,
       sync_priority,
       sent_location::text AS sent_lsn,
       write_location::text AS write_lsn,
       flush_location::text AS flush_lsn,
       replay_location::text AS replay_lsn
FROM pg_stat_replication
ORDER BY application_name, client_addr, pid;

-- archiver
SELECT archived_count,
       failed_count,
       last_archived_wal,
       extract(epoch FROM last_archived_time)::float8 AS last_archived_time,
       last_failed_wal,
       extract(epoch FROM last_failed_time)::float8 AS last_failed_time,
       current_setting('archive_mode') AS archive_mode,
       (SELECT count(*) FROM pg_ls_dir('pg_xlog/archive_status') AS f WHERE f LIKE '%.ready') AS ready_count
FROM pg_stat_archiver;

-- slots
SELECT slot_name,
       slot_type,
       active,
       restart_lsn::text AS restart_lsn
FROM pg_replication_slots
ORDER BY slot_name;
