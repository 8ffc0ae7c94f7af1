package pipeline

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/notify"
)

// Notifier is the outbox a run's notifications are written to, in the
// transaction of the change they report (internal/notify).
type Notifier interface {
	EnqueueNotification(ctx context.Context, m notify.Message) error
}

// notify writes the notification of r's new state when it is one people
// must hear of: a stage waiting for its approver, or a failed run. before
// is r's state before the change.
func (s *Service) notify(ctx context.Context, tx Tx, before State, r Run) error {
	if before == r.State {
		return nil
	}
	var event, title, text string
	switch r.State {
	case Waiting:
		st := r.waitingStep()
		if st == nil {
			return nil
		}
		event = "pipeline.waiting"
		title = fmt.Sprintf("流水线 %s 第 %d 次运行等待审批：阶段 %s / pipeline %s run %d waits for an approval of stage %s",
			r.Name, r.Number, st.Name, r.Name, r.Number, st.Name)
		text = fmt.Sprintf("**%s**\n\n- 审批人 / approver: %s（不能是 / not %s, %s）\n- 版本 / version: %s\n- `berth pipeline approve %s %d %s --reason …`",
			title, st.Owner, r.Trigger.User, r.Spec.UpdatedBy, r.Version, r.Name, r.Number, st.Name)
	case Failed:
		event = "pipeline.failed"
		title = fmt.Sprintf("流水线 %s 第 %d 次运行失败 / pipeline %s run %d failed", r.Name, r.Number, r.Name, r.Number)
		text = fmt.Sprintf("**%s**\n\n%s", title, r.Message)
		if st := r.failedStep(); st != nil && st.LogTail != "" {
			text += "\n\n```\n" + lastLines(st.LogTail, 10) + "\n```"
		}
	default:
		return nil
	}
	text += fmt.Sprintf("\n\n> %s/%s · %s · %s %s · %s", r.Tenant, r.Project, r.Spec.Application, r.Ref, shortCommit(r.Commit), r.Trigger.User)
	if err := tx.EnqueueNotification(ctx, notify.Message{Tenant: r.Tenant, Project: r.Project, Event: event, Title: title, Text: text, At: s.now()}); err != nil {
		return fmt.Errorf("notify %s of run %d: %w", event, r.Number, err)
	}
	return nil
}

func (r *Run) waitingStep() *Step {
	for i := range r.Steps {
		if r.Steps[i].State == Waiting {
			return &r.Steps[i]
		}
	}
	return nil
}

func (r *Run) failedStep() *Step {
	for i := range r.Steps {
		if r.Steps[i].State == Failed {
			return &r.Steps[i]
		}
	}
	return nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	end := len(s)
	for end > 0 && s[end-1] == '\n' {
		end--
	}
	i := end
	for ; i > 0 && n > 0; i-- {
		if s[i-1] == '\n' {
			n--
			if n == 0 {
				break
			}
		}
	}
	return s[i:end]
}
