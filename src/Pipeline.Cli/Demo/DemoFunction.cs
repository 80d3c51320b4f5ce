using System.Security.Cryptography;
using System.Text;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Cli.Demo;

/// <summary>
/// The built-in demo function: it stands in for background removal until that function lands. It hashes the job's
/// source string (a little CPU work), and fails the first attempt of every <c>flakyEvery</c>-th job transiently so
/// the in-process retries can be seen. It reads and writes no files.
/// </summary>
internal sealed class DemoFunction(int flakyEvery) : IJobFunction
{
    private long _calls;

    public long Calls => Interlocked.Read(ref _calls);

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        string id = job.JobId ?? string.Empty;
        int n = id.StartsWith("demo-", StringComparison.Ordinal) && int.TryParse(id.AsSpan(5), out int parsed) ? parsed : 0;
        if (flakyEvery > 0 && n % flakyEvery == 0 && context.Attempt == 1)
        {
            throw new TransientJobException($"demo: simulated transient failure of {job.Key} (first attempt)");
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(job.Source));
        return ValueTask.FromResult(new JobOutput("memory://" + Convert.ToHexStringLower(hash.AsSpan(0, 8))));
    }
}
