-- Where a large file's temp file at a resumable destination (SFTP) was last checkpointed:
-- {temp, offset, size, mtimeMs}. A retry after a crash continues from `offset` when the temp
-- still holds those bytes and the source is the same version; null otherwise.
ALTER TABLE ferry.transfer_files ADD COLUMN resume_point jsonb;
