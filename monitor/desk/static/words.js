// Plain words for the codes the console shows (states, reasons, outcomes, timeline events),
// in the console's two languages; the code itself stays in the tooltip. The one mapping.
"use strict";
const FCWords = (() => {
  const W = {
    // case states
    open: ["just opened", "刚打开"],
    contacting: ["contacting the family", "正在联系家长"],
    waiting_agent: ["waiting for an agent", "等待技术人员"],
    resolved: ["solved", "已解决"],
    closed: ["closed", "已关闭"],
    // problem kinds
    lag: ["video lagging", "画面卡顿"],
    disconnect: ["dropped out", "掉线"],
    flapping: ["keeps dropping out", "反复掉线"],
    line: ["line problem", "线路故障"],
    // why a case waits for an agent, and other reasons
    sms_unanswered: ["nobody answered the chat, call or SMS", "聊天、电话和短信都没有回应"],
    chat_unanswered: ["nobody answered the chat", "聊天没有回应"],
    sms_failed: ["the SMS did not go through", "短信没有发出"],
    family_asked_for_help: ["the family asked for help", "家长请求帮助"],
    family_reply_unclear: ["the family's reply was unclear", "家长的回复不明确"],
    family_says_fine: ["the family says it works", "家长说已经好了"],
    family_reached_by_call: ["the family was reached by phone", "已电话联系到家长"],
    not_recovered_after_contact: ["still broken after we contacted the family", "联系家长后仍未恢复"],
    escalated_dropped: ["dropped out and not back", "掉线后未恢复"],
    escalated_recurring: ["the problem keeps coming back", "问题反复出现"],
    no_reachable_phone: ["no phone number to reach the family", "没有可联系的电话"],
    covered_by_line_incident: ["part of a line problem", "属于线路故障"],
    recovered_in_hold_off: ["recovered by itself before we contacted", "联系前已自行恢复"],
    already_contacted: ["already contacted", "已联系过"],
    quiet_hours: ["the family's quiet hours", "家长的免打扰时间"],
    rate_limited: ["contacted too often lately", "近期联系过多"],
    joined_open_case: ["joined the family's open case", "并入家庭的未结案例"],
    incident_closed: ["the problem ended", "问题已结束"],
    incident_never_ended: ["the problem never ended", "问题一直没有结束"],
    no_decision: ["no contact was decided", "未决定联系"],
    waiting_for_answer: ["waiting for an answer", "等待回复"],
    notice_only: ["told the family only", "仅通知家长"],
    // outcomes
    self_recovered: ["recovered by itself", "自行恢复"],
    resolved_by_chat: ["solved in the chat", "通过聊天解决"],
    resolved_by_call: ["solved on a call", "通过电话解决"],
    resolved_by_sms: ["solved by SMS", "通过短信解决"],
    no_answer: ["the family did not answer", "家长未接听"],
    escalated: ["passed to the engineers", "转交工程师"],
    infra_incident: ["an infrastructure problem", "基础设施故障"],
    do_not_contact: ["the family asked not to be contacted", "家长要求不要联系"],
    // timeline events
    opened: ["case opened", "案例已创建"],
    state: ["moved", "状态变更"],
    claimed: ["claimed", "已认领"],
    released: ["released", "已释放"],
    transferred: ["transferred", "已转交"],
    attempt: ["contact attempt", "联系尝试"],
    attempt_impossible: ["could not contact", "无法联系"],
    outreach: ["contact decision", "联系决定"],
    decision: ["contact decision", "联系决定"],
    fallback: ["next step", "下一步"],
    sending: ["sending", "正在发送"],
    gate: ["family check", "家庭检查"],
    telemetry: ["telemetry saved", "已保存遥测数据"],
    note: ["note", "备注"],
    chat_reply: ["the family replied in the chat", "家长在聊天中回复"],
    call: ["call", "电话"],
    sms: ["SMS", "短信"],
    call_back_scheduled: ["call back scheduled", "已安排回电"],
    outcome_confirmed: ["outcome confirmed", "已确认结果"],
    outcome_published: ["outcome published", "结果已发布"],
    paged: ["engineers paged", "已呼叫工程师"],
    // next steps of the contact chain
    agent_queue: ["to the agents' queue", "转人工队列"],
    wait: ["wait", "等待"],
    done: ["done", "完成"],
    call_timeout: ["the call was not answered in time", "电话未及时接听"],
    call_send_failed: ["the call did not go through", "电话没有打通"],
    // actors
    system: ["system", "系统"], policy: ["policy", "策略"], pager: ["pager", "呼叫器"],
  };
  const LANGS = ["en", "zh-CN"];
  const KEY = "firstcall.console.lang";
  let lang = LANGS.includes(localStorage.getItem(KEY)) ? localStorage.getItem(KEY) : "en";

  // The plain words of `code` (a code nobody mapped yet reads with spaces for underscores).
  function word(code) {
    if (code === null || code === undefined || code === "") return "";
    const known = W[code];
    return known ? known[LANGS.indexOf(lang)] : String(code).replaceAll("_", " ");
  }
  // A <span> with the words, the code in its tooltip and in data-code.
  function tag(code, text) {
    const s = document.createElement("span");
    s.className = "code-word";
    s.textContent = text === undefined ? word(code) : text;
    s.title = String(code);
    s.dataset.code = String(code);
    return s;
  }
  // "1st in line" for the rank, the score (head start + seconds waited) in the tooltip.
  function priority(rank, score) {
    const n = rank % 100, th = n % 10 === 1 && n !== 11 ? "st" : n % 10 === 2 && n !== 12 ? "nd" :
      n % 10 === 3 && n !== 13 ? "rd" : "th";
    const text = lang === "en" ? (rank === 1 ? "next in line" : rank + th + " in line")
      : (rank === 1 ? "下一位" : "第" + rank + "位");
    return tag("score " + score, text);
  }
  function setLang(l) { if (LANGS.includes(l)) { lang = l; localStorage.setItem(KEY, l); } }
  return { word, tag, priority, setLang, lang: () => lang, LANGS, codes: () => Object.keys(W) };
})();
