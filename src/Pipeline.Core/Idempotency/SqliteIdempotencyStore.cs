using Microsoft.Data.Sqlite;

namespace Pipeline.Core.Idempotency;

/// <summary>
/// The embedded, durable <see cref="IIdempotencyStore"/>: one SQLite file that several processes and several store
/// instances may share. Each instance holds one connection and uses it one call at a time.
/// </summary>
/// <remarks>
/// <para>
/// WAL with <c>synchronous=NORMAL</c> makes a commit cheap (no fsync until a checkpoint) yet never corrupts the
/// file when a process is killed; what a power cut may lose is the last commits, which the sources redeliver anyway.
/// </para>
/// <para>
/// Every write batch runs in one <c>BEGIN IMMEDIATE</c> transaction: taking the write lock up front means two writers
/// queue on the busy timeout instead of failing on a read-to-write upgrade, and a batch of claims costs one commit.
/// Times are stored as Unix milliseconds.
/// </para>
/// </remarks>
public sealed class SqliteIdempotencyStore : IIdempotencyStore, IDisposable, IAsyncDisposable
{
    /// <summary>How long a writer waits for another process's write transaction before it gives up.</summary>
    private const int BusyTimeoutMs = 10_000;

    // Times are Unix milliseconds. "updated" is the caller's now at the last claim or finish, for people reading the
    // file; nothing decides on it.
    private const string SchemaSql = """
        CREATE TABLE IF NOT EXISTS idempotency (
            key        TEXT PRIMARY KEY NOT NULL,
            status     INTEGER NOT NULL,
            owner      TEXT,
            expiry     INTEGER,
            message_id TEXT,
            result     TEXT,
            reason     TEXT,
            updated    INTEGER
        ) WITHOUT ROWID;
        """;

    // The conditional write of the interface: the insert wins on a new key, the update only where the claim rule
    // allows it; an update whose WHERE fails changes no row, which is how a lost claim is recognised.
    private const string ClaimSql = """
        INSERT INTO idempotency (key, status, owner, expiry, message_id, result, reason, updated)
        VALUES ($key, 1, $owner, $expiry, $message_id, NULL, NULL, $now)
        ON CONFLICT (key) DO UPDATE SET
            status = 1, owner = excluded.owner, expiry = excluded.expiry, message_id = excluded.message_id,
            result = NULL, reason = NULL, updated = excluded.updated
        WHERE (idempotency.status = 1 AND idempotency.expiry < $now)
           OR (idempotency.status = 3 AND idempotency.message_id IS NOT excluded.message_id);
        """;

    private const string SelectSql = "SELECT status, owner, expiry, message_id, result, reason FROM idempotency WHERE key = $key;";

    private const string TakeOverSql = """
        UPDATE idempotency SET owner = $owner, expiry = $expiry, message_id = $message_id
        WHERE key = $key AND status = 1 AND owner = $previous_owner;
        """;

    private const string RenewSql = "UPDATE idempotency SET expiry = $expiry WHERE key = $key AND owner = $owner AND status = 1;";

    private const string CompleteSql = """
        UPDATE idempotency SET status = 2, owner = NULL, expiry = NULL, result = $result, reason = NULL, updated = $now
        WHERE key = $key AND owner = $owner AND status = 1;
        """;

    // message_id stays: it is what tells a redelivery (fail fast) from a redrive (start fresh).
    private const string FailSql = """
        UPDATE idempotency SET status = 3, owner = NULL, expiry = NULL, result = NULL, reason = $reason, updated = $now
        WHERE key = $key AND owner = $owner AND status = 1;
        """;

    private const string ReleaseSql = "DELETE FROM idempotency WHERE key = $key AND owner = $owner AND status = 1;";

    private const string ClearFailureSql = "DELETE FROM idempotency WHERE key = $key AND status = 3;";

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Statement _begin;
    private readonly Statement _commit;
    private readonly Statement _rollback;
    private readonly Statement _claim;
    private readonly Statement _select;
    private readonly Statement _takeOver;
    private readonly Statement _renew;
    private readonly Statement _complete;
    private readonly Statement _fail;
    private readonly Statement _release;
    private readonly Statement _clearFailure;
    private bool _disposed;

    /// <summary>Opens (creating if missing) the database file, its folder and its schema.</summary>
    public SqliteIdempotencyStore(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var fullPath = Path.GetFullPath(databasePath);
        var folder = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        DatabasePath = fullPath;
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Pooling would keep the file open after Dispose, and one long-lived connection needs no pool.
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();

        _connection = new SqliteConnection(connectionString);
        try
        {
            _connection.Open();
            // busy_timeout first: switching to WAL and creating the table may wait on another process doing the same.
            Execute($"PRAGMA busy_timeout = {BusyTimeoutMs};");
            Execute("PRAGMA journal_mode = WAL;");
            Execute("PRAGMA synchronous = NORMAL;");
            Execute(SchemaSql);

            _begin = new Statement(_connection, "BEGIN IMMEDIATE;");
            _commit = new Statement(_connection, "COMMIT;");
            _rollback = new Statement(_connection, "ROLLBACK;");
            _claim = new Statement(_connection, ClaimSql, "$key", "$owner", "$expiry", "$message_id", "$now");
            _select = new Statement(_connection, SelectSql, "$key");
            _takeOver = new Statement(_connection, TakeOverSql, "$key", "$owner", "$expiry", "$message_id", "$previous_owner");
            _renew = new Statement(_connection, RenewSql, "$key", "$owner", "$expiry");
            _complete = new Statement(_connection, CompleteSql, "$key", "$owner", "$result", "$now");
            _fail = new Statement(_connection, FailSql, "$key", "$owner", "$reason", "$now");
            _release = new Statement(_connection, ReleaseSql, "$key", "$owner");
            _clearFailure = new Statement(_connection, ClearFailureSql, "$key");
        }
        catch
        {
            _connection.Dispose();
            _gate.Dispose();
            throw;
        }
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    public async ValueTask<IReadOnlyList<ClaimOutcome>> TryClaimAsync(IReadOnlyList<ClaimRequest> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0)
        {
            return Array.Empty<ClaimOutcome>();
        }

        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return ClaimInTransaction(requests, ClaimRules.ToUnixMs(now));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<bool> TryTakeOverAsync(ClaimRequest request, string previousOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(previousOwner);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _takeOver[0].Value = request.Key;
            _takeOver[1].Value = request.Owner;
            _takeOver[2].Value = ClaimRules.ToUnixMs(request.Expiry);
            _takeOver[3].Value = request.MessageId;
            _takeOver[4].Value = previousOwner;
            return _takeOver.Command.ExecuteNonQuery() == 1;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<int> RenewAsync(IReadOnlyList<string> keys, string owner, DateTimeOffset expiry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(owner);
        if (keys.Count == 0)
        {
            return 0;
        }

        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return RenewInTransaction(keys, owner, ClaimRules.ToUnixMs(expiry));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask FinishAsync(IReadOnlyList<ClaimFinish> finishes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(finishes);
        ClaimRules.ValidateKinds(finishes);
        if (finishes.Count == 0)
        {
            return;
        }

        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            FinishInTransaction(finishes, ClaimRules.ToUnixMs(now));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<IdempotencyRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Select(key);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<bool> ClearFailureAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _clearFailure[0].Value = key;
            return _clearFailure.Command.ExecuteNonQuery() == 1;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        // Waiting for the call in flight keeps its statements from being disposed under it.
        _gate.Wait();
        try
        {
            DisposeCore();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            DisposeCore();
        }
        finally
        {
            _gate.Release();
        }
    }

    private ClaimOutcome[] ClaimInTransaction(IReadOnlyList<ClaimRequest> requests, long nowMs)
    {
        var outcomes = new ClaimOutcome[requests.Count];
        Begin();
        try
        {
            for (var i = 0; i < requests.Count; i++)
            {
                var request = requests[i];
                _claim[0].Value = request.Key;
                _claim[1].Value = request.Owner;
                _claim[2].Value = ClaimRules.ToUnixMs(request.Expiry);
                _claim[3].Value = request.MessageId;
                _claim[4].Value = nowMs;
                if (_claim.Command.ExecuteNonQuery() == 1)
                {
                    outcomes[i] = ClaimOutcome.Won;
                    continue;
                }

                // Read inside the same transaction, so the record shown is the one that blocked the write.
                var existing = Select(request.Key)
                    ?? throw new InvalidOperationException($"Claim of '{request.Key}' changed no row, yet no record exists.");
                outcomes[i] = ClaimRules.Blocked(existing);
            }

            _commit.Command.ExecuteNonQuery();
        }
        catch
        {
            Rollback();
            throw;
        }

        return outcomes;
    }

    private int RenewInTransaction(IReadOnlyList<string> keys, string owner, long expiryMs)
    {
        var renewed = 0;
        Begin();
        try
        {
            _renew[1].Value = owner;
            _renew[2].Value = expiryMs;
            for (var i = 0; i < keys.Count; i++)
            {
                _renew[0].Value = keys[i];
                renewed += _renew.Command.ExecuteNonQuery();
            }

            _commit.Command.ExecuteNonQuery();
        }
        catch
        {
            Rollback();
            throw;
        }

        return renewed;
    }

    private void FinishInTransaction(IReadOnlyList<ClaimFinish> finishes, long nowMs)
    {
        Begin();
        try
        {
            for (var i = 0; i < finishes.Count; i++)
            {
                var finish = finishes[i];
                var statement = finish.Kind switch
                {
                    FinishKind.Complete => _complete,
                    FinishKind.FailPermanently => _fail,
                    _ => _release,
                };
                statement[0].Value = finish.Key;
                statement[1].Value = finish.Owner;
                if (finish.Kind == FinishKind.Complete)
                {
                    statement[2].Value = (object?)finish.ResultLocation ?? DBNull.Value;
                    statement[3].Value = nowMs;
                }
                else if (finish.Kind == FinishKind.FailPermanently)
                {
                    statement[2].Value = (object?)finish.FailureReason ?? DBNull.Value;
                    statement[3].Value = nowMs;
                }

                // A finish whose owner lost the claim changes no row, which is the point.
                statement.Command.ExecuteNonQuery();
            }

            _commit.Command.ExecuteNonQuery();
        }
        catch
        {
            Rollback();
            throw;
        }
    }

    private IdempotencyRecord? Select(string key)
    {
        _select[0].Value = key;
        using var reader = _select.Command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new IdempotencyRecord(
            key,
            (IdempotencyStatus)reader.GetInt32(0),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : ClaimRules.FromUnixMs(reader.GetInt64(2)),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    private async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_disposed)
        {
            _gate.Release();
            throw new ObjectDisposedException(nameof(SqliteIdempotencyStore));
        }
    }

    private void Begin() => _begin.Command.ExecuteNonQuery();

    private void Rollback()
    {
        try
        {
            _rollback.Command.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // SQLite rolls some failures back by itself; the original exception is the one worth seeing.
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private void DisposeCore()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _begin.Dispose();
        _commit.Dispose();
        _rollback.Dispose();
        _claim.Dispose();
        _select.Dispose();
        _takeOver.Dispose();
        _renew.Dispose();
        _complete.Dispose();
        _fail.Dispose();
        _release.Dispose();
        _clearFailure.Dispose();
        _connection.Dispose();
    }

    /// <summary>A command prepared once, with its parameters kept by position so a call only sets values.</summary>
    private sealed class Statement : IDisposable
    {
        private readonly SqliteParameter[] _parameters;

        public Statement(SqliteConnection connection, string sql, params string[] parameterNames)
        {
            Command = connection.CreateCommand();
            Command.CommandText = sql;
            _parameters = new SqliteParameter[parameterNames.Length];
            for (var i = 0; i < parameterNames.Length; i++)
            {
                // No declared type: each value binds as what it is (text, integer or null).
                _parameters[i] = Command.CreateParameter();
                _parameters[i].ParameterName = parameterNames[i];
                Command.Parameters.Add(_parameters[i]);
            }

            Command.Prepare();
        }

        public SqliteCommand Command { get; }

        public SqliteParameter this[int index] => _parameters[index];

        public void Dispose() => Command.Dispose();
    }
}
