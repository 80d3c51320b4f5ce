namespace Pipeline.BackgroundRemoval.Function;

/// <summary>Told each time the function starts on a job, before any work (so a call cut short still counts).</summary>
public interface IFunctionCallLog
{
    /// <param name="key">The idempotency key of the call (the job's key and its source's identity).</param>
    /// <param name="source">The job's source as the job named it.</param>
    void Started(string key, string source);
}
