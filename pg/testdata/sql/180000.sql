-- server_version_num 180000. Once per connection, the role's privileges:
SELECT has_function_privilege('pg_control_system()', 'EXECUTE') AND has_function_privilege('pg_control_checkpoint()', 'EXECUTE') AS control_functions,
       has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS archive_status;

-- Then per snapshot, in one pipeline (with every privilege; without one,
-- the columns that need it are left out):

-- node
SELECT pg_is_in_recovery() AS in_recovery,
       extract(epoch FROM now())::float8 AS server_time,
       current_setting('synchronous_standby_names') AS synchronous_standby_names,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('wal_receiver_timeout') AS wal_receiver_timeout,
       current_setting('wal_receiver_status_interval') AS wal_receiver_status_interval,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS current_walfile,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()::text END AS receive_lsn,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replay_lsn,
       CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM pg_last_xact_replay_timestamp())::float8 END AS last_replay,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused,
       (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
       (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_timeline;

-- replication
SELECT pid,
       application_name,
       host(client_addr) AS client_addr,
       state,
       sync_state,
       sync_priority,
       sent_lsn::text AS sent_lsn,
       write_lsn::text AS write_lsn,
       flush_lsn::text AS flush_lsn,
       replay_lsn::text AS replay_lsn,
       extract(epoch FROM write_lag)::float8 AS write_lag,
       extract(epoch FROM flush_lag)::float8 AS flush_lag,
       extract(epoch FROM replay_lag)::float8 AS replay_lag,
       extract(epoch FROM reply_time)::float8 AS reply_time
FROM pg_stat_replication
ORDER BY application_name, client_addr, pid;

-- wal_receiver
SELECT pid,
       status,
       received_tli,
       written_lsn::text AS written_lsn,
       flushed_lsn::text AS flushed_lsn,
       latest_end_lsn::text AS latest_end_lsn,
       extract(epoch FROM last_msg_send_time)::float8 AS last_msg_send_time,
       extract(epoch FROM last_msg_receipt_time)::float8 AS last_msg_receipt_time,
       slot_name,
       sender_host,
       sender_port
FROM pg_stat_wal_receiver;

-- archiver
SELECT archived_count,
       failed_count,
       last_archived_wal,
       extract(epoch FROM last_archived_time)::float8 AS last_archived_time,
       last_failed_wal,
       extract(epoch FROM last_failed_time)::float8 AS last_failed_time,
       current_setting('archive_mode') AS archive_mode,
       (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS ready_count
FROM pg_stat_archiver;

-- slots
SELECT slot_name,
       slot_type,
       active,
       restart_lsn::text AS restart_lsn,
       wal_status,
       safe_wal_size
FROM pg_replication_slots
ORDER BY slot_name;
