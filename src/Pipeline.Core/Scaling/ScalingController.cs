using Microsoft.Extensions.Logging;

namespace Pipeline.Core.Scaling;

/// <summary>
/// Every <see cref="ScalingOptions.EvaluationPeriod"/>: reads the mapping's signals, asks <see cref="ScalingPolicy"/>
/// for a target, and sets the lane count when it changes. Runs until its token is cancelled.
/// </summary>
public sealed partial class ScalingController
{
    private readonly ScalingOptions _options;
    private readonly ScalingPolicy _policy;
    private readonly IScalingTarget _target;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _evaluations;

    public ScalingController(ScalingOptions options, IScalingTarget target, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(target);
        _options = options.Validate();
        _policy = new ScalingPolicy(_options);
        _target = target;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Evaluations done so far (for observers and tests).</summary>
    public long Evaluations => Interlocked.Read(ref _evaluations);

    /// <summary>The last decision's reason.</summary>
    public ScalingReason LastReason { get; private set; } = ScalingReason.Steady;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var state = ScalingState.Start(_target.Concurrency);
        ScalingSignals last = _target.ReadSignals();
        using var timer = new PeriodicTimer(_options.EvaluationPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                ScalingSignals now = _target.ReadSignals();

                // Someone else (an operator, a test) may have set the lanes: decide from what is there.
                int actual = _target.Concurrency;
                if (actual != state.Current)
                {
                    state = state with { Current = actual };
                }

                ScalingDecision decision = _policy.Decide(state, now.Since(last), _time.GetUtcNow());
                last = now;
                if (decision.Target != state.Current)
                {
                    LogScaled(_logger, state.Current, decision.Target, decision.Reason);
                    _target.SetConcurrency(decision.Target);
                }

                state = decision.Next;
                LastReason = decision.Reason;
                Interlocked.Increment(ref _evaluations);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Scaling lanes from {From} to {To} ({Reason})")]
    private static partial void LogScaled(ILogger logger, int from, int to, ScalingReason reason);
}
