-- A user-role API key always acts as a user (docs/security.md, "Who can call what"). Keys made
-- before this rule without one (by the bootstrap admin key, say) could act on objects owned by
-- nobody, which are the admins'. Who created them was never recorded, so they cannot be given to
-- "the admin who made them": they are revoked, and the constraint keeps new ones out.
UPDATE ferry.api_keys SET revoked_at = now()
  WHERE role = 'user' AND user_id IS NULL AND revoked_at IS NULL;

ALTER TABLE ferry.api_keys
  ADD CONSTRAINT api_keys_user_role_has_user
  CHECK (role = 'admin' OR user_id IS NOT NULL OR revoked_at IS NOT NULL);
