using Microsoft.Data.Sqlite;

namespace Pipeline.Core.Idempotency;

/// <summary>
/// The embedded, durable <see cref="IIdempotencyStore"/>: one SQLite file that several processes and several store
/// instances may share. Each instance holds one connection, which only its writer uses.
/// </summary>
/// <remarks>
/// <para>
/// WAL with <c>synchronous=NORMAL</c> makes a commit cheap (no fsync until a checkpoint) yet never corrupts the
/// file when a process is killed; what a power cut may lose is the last commits, which the sources redeliver anyway.
/// </para>
/// <para>
/// Group commit: a call queues its operation, and the writer runs everything queued at that moment in one
/// <c>BEGIN IMMEDIATE</c> transaction, operation after operation in the order they arrived, each with the same
/// statements and conditions as on its own. Every caller gets its own results, and only once that transaction has
/// committed; if it fails, every caller in it gets the exception and none of its writes stays. The caller that finds
/// no writer at work becomes the writer for one group (so a lone caller pays no thread switch); calls that arrive
/// meanwhile wait for the next group, which a thread-pool worker writes. Commits, the costly part, are thereby shared
/// by the lanes that call at the same time.
/// </para>
/// <para>
/// Taking the write lock up front means two processes queue on the busy timeout instead of failing on a read-to-write
/// upgrade. A call cancelled while queued ends with <see cref="OperationCanceledException"/> and is left out; once in
/// a group it runs to the end. Times are stored as Unix milliseconds.
/// </para>
/// </remarks>
public sealed class SqliteIdempotencyStore : IIdempotencyStore, IJobRecordLookup, IDisposable, IAsyncDisposable
{
    /// <summary>How long a writer waits for another process's write transaction before it gives up.</summary>
    private const int BusyTimeoutMs = 10_000;

    // Times are Unix milliseconds. "updated" is the caller's now at the last claim or finish: job status reads it to
    // pick a job's newest record; no claim decides on it. job_key (added later; see JobKeySchemaSql) finds a job's records.
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

    // Run after SchemaSql and after adding the column to a file made before it existed.
    private const string JobKeySchemaSql = "CREATE INDEX IF NOT EXISTS idempotency_job_key ON idempotency (job_key) WHERE job_key IS NOT NULL;";

    // The conditional write of the interface: the insert wins on a new key, the update only where the claim rule
    // allows it; an update whose WHERE fails changes no row, which is how a lost claim is recognised.
    private const string ClaimSql = """
        INSERT INTO idempotency (key, status, owner, expiry, message_id, result, reason, updated, job_key)
        VALUES ($key, 1, $owner, $expiry, $message_id, NULL, NULL, $now, $job_key)
        ON CONFLICT (key) DO UPDATE SET
            status = 1, owner = excluded.owner, expiry = excluded.expiry, message_id = excluded.message_id,
            result = NULL, reason = NULL, updated = excluded.updated, job_key = coalesce(excluded.job_key, idempotency.job_key)
        WHERE (idempotency.status = 1 AND idempotency.expiry < $now)
           OR (idempotency.status = 3 AND idempotency.message_id IS NOT excluded.message_id);
        """;

    private const string SelectSql = "SELECT status, owner, expiry, message_id, result, reason, job_key, updated, key FROM idempotency WHERE key = $key;";

    private const string SelectJobSql = "SELECT status, owner, expiry, message_id, result, reason, job_key, updated, key FROM idempotency WHERE job_key = $job_key;";

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

    // Held by the writer while it runs a group, and by Dispose while it closes the connection.
    private readonly SemaphoreSlim _connectionGate = new(1, 1);

    // Guards _queued, _writing and _disposed.
    private readonly Lock _queueLock = new();
    private readonly List<Operation> _queued = [];

    // The group being written; only the writer touches it.
    private readonly List<Operation> _group = [];
    private readonly Statement _begin;
    private readonly Statement _commit;
    private readonly Statement _rollback;
    private readonly Statement _claim;
    private readonly Statement _select;
    private readonly Statement _selectJob;
    private readonly Statement _takeOver;
    private readonly Statement _renew;
    private readonly Statement _complete;
    private readonly Statement _fail;
    private readonly Statement _release;
    private readonly Statement _clearFailure;

    // Whether a writer (a leading caller or a thread-pool worker) owns the queue; at most one does.
    private bool _writing;
    private bool _disposed;

    // Set under _connectionGate once the connection is disposed.
    private bool _closed;

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
            AddJobKeyColumnIfMissing();
            Execute(JobKeySchemaSql);

            _begin = new Statement(_connection, "BEGIN IMMEDIATE;");
            _commit = new Statement(_connection, "COMMIT;");
            _rollback = new Statement(_connection, "ROLLBACK;");
            _claim = new Statement(_connection, ClaimSql, "$key", "$owner", "$expiry", "$message_id", "$now", "$job_key");
            _select = new Statement(_connection, SelectSql, "$key");
            _selectJob = new Statement(_connection, SelectJobSql, "$job_key");
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
            throw;
        }
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>
    /// Test seam: called by the writer, holding the connection, with the number of operations in each group before it
    /// runs them; an exception from it fails the group.
    /// </summary>
    internal Action<int>? GroupStarting { get; set; }

    public async ValueTask<IReadOnlyList<ClaimOutcome>> TryClaimAsync(IReadOnlyList<ClaimRequest> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (var i = 0; i < requests.Count; i++)
        {
            ValidateRequest(requests[i], nameof(requests));
        }

        if (requests.Count == 0)
        {
            return Array.Empty<ClaimOutcome>();
        }

        return await RunAsync(new ClaimOperation(requests, ClaimRules.ToUnixMs(now)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> TryTakeOverAsync(ClaimRequest request, string previousOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(previousOwner);
        ValidateRequest(request, nameof(request));
        return await RunAsync(new TakeOverOperation(request, previousOwner), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> RenewAsync(IReadOnlyList<string> keys, string owner, DateTimeOffset expiry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(owner);
        for (var i = 0; i < keys.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(keys[i], nameof(keys));
        }

        if (keys.Count == 0)
        {
            return 0;
        }

        return await RunAsync(new RenewOperation(keys, owner, ClaimRules.ToUnixMs(expiry)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask FinishAsync(IReadOnlyList<ClaimFinish> finishes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(finishes);
        ClaimRules.ValidateKinds(finishes);
        for (var i = 0; i < finishes.Count; i++)
        {
            if (finishes[i].Key is null || finishes[i].Owner is null)
            {
                throw new ArgumentException("A finish lacks its key or owner.", nameof(finishes));
            }
        }

        if (finishes.Count == 0)
        {
            return;
        }

        await RunAsync(new FinishOperation(finishes, ClaimRules.ToUnixMs(now)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IdempotencyRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return await RunAsync(new GetOperation(key), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> ClearFailureAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return await RunAsync(new ClearFailureOperation(key), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<IdempotencyRecord>> FindByJobKeyAsync(string jobKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobKey);
        return await RunAsync(new FindJobOperation(jobKey), cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        FailQueued();

        // Waiting for the group in flight keeps its statements from being disposed under it; it completes its callers.
        _connectionGate.Wait();
        try
        {
            Close();
        }
        finally
        {
            _connectionGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        FailQueued();
        await _connectionGate.WaitAsync().ConfigureAwait(false);
        try
        {
            Close();
        }
        finally
        {
            _connectionGate.Release();
        }
    }

    // Checked before queueing, so that a malformed call fails alone instead of failing the group it would join.
    private static void ValidateRequest(ClaimRequest? request, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(request, parameterName);
        if (request.Key is null || request.Owner is null || request.MessageId is null)
        {
            throw new ArgumentException("A claim request lacks its key, owner or message id.", parameterName);
        }
    }

    /// <summary>Queues <paramref name="operation"/> and returns its result once the group holding it has committed.</summary>
    private async ValueTask<T> RunAsync<T>(Operation<T> operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Enqueue(operation))
        {
            // No writer was at work, so this caller writes the group (its own operation and any queued with it) on its
            // own thread, then leaves later arrivals to a thread-pool worker rather than serving them before returning.
            if (WriteGroup())
            {
                ThreadPool.UnsafeQueueUserWorkItem(static store => store.WriteUntilIdle(), this, preferLocal: false);
            }

            return await operation.Task.ConfigureAwait(false);
        }

        using (cancellationToken.UnsafeRegister(static (state, token) => ((Operation)state!).TryCancel(token), operation))
        {
            return await operation.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Queues an operation; true when the caller is to be the writer.</summary>
    private bool Enqueue(Operation operation)
    {
        lock (_queueLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queued.Add(operation);
            if (_writing)
            {
                return false;
            }

            _writing = true;
            return true;
        }
    }

    private void WriteUntilIdle()
    {
        while (WriteGroup())
        {
        }
    }

    /// <summary>
    /// Takes everything queued (less what was cancelled) as one group and writes it. Returns true when more has been
    /// queued meanwhile, the caller staying the writer; false when it gave the role up.
    /// </summary>
    private bool WriteGroup()
    {
        lock (_queueLock)
        {
            foreach (var operation in _queued)
            {
                if (operation.TryTake())
                {
                    _group.Add(operation);
                }
            }

            _queued.Clear();
        }

        if (_group.Count > 0)
        {
            try
            {
                Write(_group);
            }
            finally
            {
                _group.Clear();
            }
        }

        lock (_queueLock)
        {
            if (_queued.Count == 0 || _disposed)
            {
                _writing = false;
                return false;
            }

            return true;
        }
    }

    /// <summary>Runs a group and completes its operations; never throws, a failure goes to every caller in the group.</summary>
    private void Write(List<Operation> group)
    {
        Exception? failure = null;
        _connectionGate.Wait();
        try
        {
            GroupStarting?.Invoke(group.Count);
            if (_closed)
            {
                failure = new ObjectDisposedException(GetType().FullName);
            }
            else
            {
                Run(group);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            _connectionGate.Release();
        }

        foreach (var operation in group)
        {
            if (failure is null)
            {
                operation.Complete();
            }
            else
            {
                operation.Fail(failure);
            }
        }
    }

    private void Run(List<Operation> group)
    {
        var writes = false;
        foreach (var operation in group)
        {
            writes |= operation.Writes;
        }

        // One statement on its own (a take-over, a clearing, reads) commits by itself, as it always did.
        if (!writes || (group.Count == 1 && !group[0].NeedsTransaction))
        {
            foreach (var operation in group)
            {
                operation.Execute(this);
            }

            return;
        }

        _begin.Command.ExecuteNonQuery();
        try
        {
            foreach (var operation in group)
            {
                operation.Execute(this);
            }

            _commit.Command.ExecuteNonQuery();
        }
        catch
        {
            Rollback();
            throw;
        }
    }

    private void FailQueued()
    {
        Operation[] orphans;
        lock (_queueLock)
        {
            _disposed = true;
            orphans = [.. _queued];
            _queued.Clear();
        }

        foreach (var operation in orphans)
        {
            if (operation.TryTake())
            {
                operation.Fail(new ObjectDisposedException(GetType().FullName));
            }
        }
    }

    private ClaimOutcome[] Claim(IReadOnlyList<ClaimRequest> requests, long nowMs)
    {
        var outcomes = new ClaimOutcome[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            _claim[0].Value = request.Key;
            _claim[1].Value = request.Owner;
            _claim[2].Value = ClaimRules.ToUnixMs(request.Expiry);
            _claim[3].Value = request.MessageId;
            _claim[4].Value = nowMs;
            _claim[5].Value = (object?)request.JobKey ?? DBNull.Value;
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

        return outcomes;
    }

    private bool TakeOver(ClaimRequest request, string previousOwner)
    {
        _takeOver[0].Value = request.Key;
        _takeOver[1].Value = request.Owner;
        _takeOver[2].Value = ClaimRules.ToUnixMs(request.Expiry);
        _takeOver[3].Value = request.MessageId;
        _takeOver[4].Value = previousOwner;
        return _takeOver.Command.ExecuteNonQuery() == 1;
    }

    private int Renew(IReadOnlyList<string> keys, string owner, long expiryMs)
    {
        var renewed = 0;
        _renew[1].Value = owner;
        _renew[2].Value = expiryMs;
        for (var i = 0; i < keys.Count; i++)
        {
            _renew[0].Value = keys[i];
            renewed += _renew.Command.ExecuteNonQuery();
        }

        return renewed;
    }

    private void Finish(IReadOnlyList<ClaimFinish> finishes, long nowMs)
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
    }

    private bool ClearFailure(string key)
    {
        _clearFailure[0].Value = key;
        return _clearFailure.Command.ExecuteNonQuery() == 1;
    }

    private IdempotencyRecord? Select(string key)
    {
        _select[0].Value = key;
        using var reader = _select.Command.ExecuteReader();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    private IReadOnlyList<IdempotencyRecord> SelectJob(string jobKey)
    {
        _selectJob[0].Value = jobKey;
        var found = new List<IdempotencyRecord>();
        using var reader = _selectJob.Command.ExecuteReader();
        while (reader.Read())
        {
            found.Add(ReadRecord(reader));
        }

        return JobRecordOrder.NewestFirst(found);
    }

    private static IdempotencyRecord ReadRecord(SqliteDataReader reader) =>
        new(
            reader.GetString(8),
            (IdempotencyStatus)reader.GetInt32(0),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : ClaimRules.FromUnixMs(reader.GetInt64(2)),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetString(5))
        {
            JobKey = reader.IsDBNull(6) ? null : reader.GetString(6),
            UpdatedAt = reader.IsDBNull(7) ? null : ClaimRules.FromUnixMs(reader.GetInt64(7)),
        };

    /// <summary>Files made before job keys were kept get the column; their old records stay without one.</summary>
    private void AddJobKeyColumnIfMissing()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM pragma_table_info('idempotency') WHERE name = 'job_key';";
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            Execute("ALTER TABLE idempotency ADD COLUMN job_key TEXT;");
        }
    }

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

    private void Close()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _begin.Dispose();
        _commit.Dispose();
        _rollback.Dispose();
        _claim.Dispose();
        _select.Dispose();
        _selectJob.Dispose();
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

    /// <summary>One call waiting in the queue: queued, then either taken into a group or cancelled, never both.</summary>
    private abstract class Operation
    {
        private const int Queued = 0;
        private const int Taken = 1;
        private const int Cancelled = 2;

        private int _state;

        /// <summary>Whether it writes; a group of reads only needs no transaction.</summary>
        public abstract bool Writes { get; }

        /// <summary>Whether it needs a transaction even alone (several statements that must commit together).</summary>
        public abstract bool NeedsTransaction { get; }

        /// <summary>Claims the operation for a group (or for failing it at dispose); false once it was cancelled.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        public void TryCancel(CancellationToken cancellationToken)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                SetCanceled(cancellationToken);
            }
        }

        /// <summary>Runs the statements inside the group's transaction and keeps the result until the commit.</summary>
        public abstract void Execute(SqliteIdempotencyStore store);

        public abstract void Complete();

        public abstract void Fail(Exception exception);

        protected abstract void SetCanceled(CancellationToken cancellationToken);
    }

    private abstract class Operation<T> : Operation
    {
        // Callers resume on the thread pool, never inside the writer.
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _completion.Task;

        public sealed override void Execute(SqliteIdempotencyStore store) => _result = Run(store);

        public sealed override void Complete() => _completion.TrySetResult(_result!);

        public sealed override void Fail(Exception exception) => _completion.TrySetException(exception);

        protected sealed override void SetCanceled(CancellationToken cancellationToken) => _completion.TrySetCanceled(cancellationToken);

        protected abstract T Run(SqliteIdempotencyStore store);
    }

    private sealed class ClaimOperation(IReadOnlyList<ClaimRequest> requests, long nowMs) : Operation<IReadOnlyList<ClaimOutcome>>
    {
        public override bool Writes => true;

        public override bool NeedsTransaction => true;

        protected override IReadOnlyList<ClaimOutcome> Run(SqliteIdempotencyStore store) => store.Claim(requests, nowMs);
    }

    private sealed class TakeOverOperation(ClaimRequest request, string previousOwner) : Operation<bool>
    {
        public override bool Writes => true;

        public override bool NeedsTransaction => false;

        protected override bool Run(SqliteIdempotencyStore store) => store.TakeOver(request, previousOwner);
    }

    private sealed class RenewOperation(IReadOnlyList<string> keys, string owner, long expiryMs) : Operation<int>
    {
        public override bool Writes => true;

        public override bool NeedsTransaction => true;

        protected override int Run(SqliteIdempotencyStore store) => store.Renew(keys, owner, expiryMs);
    }

    private sealed class FinishOperation(IReadOnlyList<ClaimFinish> finishes, long nowMs) : Operation<bool>
    {
        public override bool Writes => true;

        public override bool NeedsTransaction => true;

        protected override bool Run(SqliteIdempotencyStore store)
        {
            store.Finish(finishes, nowMs);
            return true;
        }
    }

    private sealed class GetOperation(string key) : Operation<IdempotencyRecord?>
    {
        public override bool Writes => false;

        public override bool NeedsTransaction => false;

        protected override IdempotencyRecord? Run(SqliteIdempotencyStore store) => store.Select(key);
    }

    private sealed class FindJobOperation(string jobKey) : Operation<IReadOnlyList<IdempotencyRecord>>
    {
        public override bool Writes => false;

        public override bool NeedsTransaction => false;

        protected override IReadOnlyList<IdempotencyRecord> Run(SqliteIdempotencyStore store) => store.SelectJob(jobKey);
    }

    private sealed class ClearFailureOperation(string key) : Operation<bool>
    {
        public override bool Writes => true;

        public override bool NeedsTransaction => false;

        protected override bool Run(SqliteIdempotencyStore store) => store.ClearFailure(key);
    }
}
