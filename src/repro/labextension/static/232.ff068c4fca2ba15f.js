"use strict";(self.rspackChunkrepro_nb=self.rspackChunkrepro_nb||[]).push([[232],{17(r,e,o){var t=o(18),n=o.n(t),a=o(19),i=(o.n(a))()(n());i.push([r.id,`/*
 * repro's badges, verdict markers, status item and banner. Colours come from
 * JupyterLab's theme variables only, so light and dark themes both read.
 */

.repro-CellBar {
  display: flex;
  flex-wrap: wrap;
  gap: 8px;
  align-items: center;
  padding: 1px 0 1px calc(var(--jp-cell-prompt-width) + var(--jp-cell-collapser-width, 8px));
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size0);
  line-height: 1.4;
  color: var(--jp-ui-font-color2);
}

.repro-CellBar.repro-mod-empty {
  display: none;
}

.repro-Badge {
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
  max-width: 100%;
}

.repro-Badge.repro-mod-warning {
  color: var(--jp-warn-color0);
  font-weight: 600;
}

.repro-Verdict {
  font: inherit;
  padding: 0 6px;
  border: 1px solid var(--jp-border-color1);
  border-radius: 8px;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  cursor: default;
}

.repro-Verdict.repro-mod-clickable {
  cursor: pointer;
  text-decoration: underline dotted;
}

.repro-Verdict:disabled {
  opacity: 1;
}

.repro-Verdict.repro-mod-reproduced {
  border-color: var(--jp-success-color1);
  color: var(--jp-success-color0);
}

.repro-Verdict.repro-mod-differs,
.repro-Verdict.repro-mod-failed {
  border-color: var(--jp-error-color1);
  color: var(--jp-error-color0);
}

.repro-Verdict.repro-mod-nondeterministic {
  border-color: var(--jp-warn-color1);
  color: var(--jp-warn-color0);
}

.repro-Verdict.repro-mod-running {
  border-color: var(--jp-brand-color1);
  color: var(--jp-brand-color0);
}

.repro-SeedStatus {
  border: none;
  background: none;
  padding: 0 4px;
  font: inherit;
  color: var(--jp-ui-font-color1);
  cursor: pointer;
}

.repro-SeedStatus:hover {
  background: var(--jp-layout-color2);
}

.repro-Banner {
  display: flex;
  align-items: flex-start;
  gap: 8px;
  padding: 6px 12px;
  border-bottom: 1px solid var(--jp-border-color2);
  border-left: 4px solid var(--jp-brand-color1);
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
  box-sizing: border-box;
}

.repro-Banner[data-status='reproduced'],
.repro-Banner[data-status='recorded'] {
  border-left-color: var(--jp-success-color1);
}

.repro-Banner[data-status='differs'],
.repro-Banner[data-status='failed'] {
  border-left-color: var(--jp-error-color1);
}

.repro-Banner[data-status='unverified'] {
  border-left-color: var(--jp-warn-color1);
}

.repro-Banner-body {
  flex: 1 1 auto;
}

.repro-Banner-line:first-child {
  font-weight: 600;
}

.repro-Banner a.repro-Banner-link,
.repro-Banner a.repro-Banner-link:visited {
  color: var(--jp-content-link-color);
  text-decoration: underline;
  cursor: pointer;
}

.repro-Banner-close {
  min-width: 24px;
  padding: 0 6px;
}

.repro-DialogText {
  margin: 0;
  max-width: 80vw;
  max-height: 60vh;
  overflow: auto;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  white-space: pre;
  color: var(--jp-content-font-color1);
}

.repro-Banner button {
  height: 24px;
  line-height: 22px;
  padding: 0 8px;
}

.repro-Banner button[hidden] {
  display: none;
}
`,""]),o.d(e,{},{A:i})},19(r){r.exports=function(r){var e=[];return e.toString=function(){return this.map(function(e){var o="",t=void 0!==e[5];return e[4]&&(o+="@supports (".concat(e[4],") {")),e[2]&&(o+="@media ".concat(e[2]," {")),t&&(o+="@layer".concat(e[5].length>0?" ".concat(e[5]):""," {")),o+=r(e),t&&(o+="}"),e[2]&&(o+="}"),e[4]&&(o+="}"),o}).join("")},e.i=function(r,o,t,n,a){"string"==typeof r&&(r=[[null,r,void 0]]);var i={};if(t)for(var c=0;c<this.length;c++){var p=this[c][0];null!=p&&(i[p]=!0)}for(var l=0;l<r.length;l++){var s=[].concat(r[l]);t&&i[s[0]]||(void 0!==a&&(void 0===s[5]||(s[1]="@layer".concat(s[5].length>0?" ".concat(s[5]):""," {").concat(s[1],"}")),s[5]=a),o&&(s[2]&&(s[1]="@media ".concat(s[2]," {").concat(s[1],"}")),s[2]=o),n&&(s[4]?(s[1]="@supports (".concat(s[4],") {").concat(s[1],"}"),s[4]=n):s[4]="".concat(n)),e.push(s))}},e}},18(r){r.exports=function(r){return r[1]}},11(r){var e=[];function o(r){for(var o=-1,t=0;t<e.length;t++)if(e[t].identifier===r){o=t;break}return o}function t(r,t){for(var n={},a=[],i=0;i<r.length;i++){var c=r[i],p=t.base?c[0]+t.base:c[0],l=n[p]||0,s="".concat(p," ").concat(l);n[p]=l+1;var d=o(s),u={css:c[1],media:c[2],sourceMap:c[3],supports:c[4],layer:c[5]};if(-1!==d)e[d].references++,e[d].updater(u);else{var f=function(r,e){var o=e.domAPI(e);return o.update(r),function(e){e?(e.css!==r.css||e.media!==r.media||e.sourceMap!==r.sourceMap||e.supports!==r.supports||e.layer!==r.layer)&&o.update(r=e):o.remove()}}(u,t);t.byIndex=i,e.splice(i,0,{identifier:s,updater:f,references:1})}a.push(s)}return a}r.exports=function(r,n){var a=t(r=r||[],n=n||{});return function(r){r=r||[];for(var i=0;i<a.length;i++){var c=o(a[i]);e[c].references--}for(var p=t(r,n),l=0;l<a.length;l++){var s=o(a[l]);0===e[s].references&&(e[s].updater(),e.splice(s,1))}a=p}}},13(r){var e={};r.exports=function(r,o){var t=function(r){if(void 0===e[r]){var o=document.querySelector(r);if(window.HTMLIFrameElement&&o instanceof window.HTMLIFrameElement)try{o=o.contentDocument.head}catch(r){o=null}e[r]=o}return e[r]}(r);if(!t)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");t.appendChild(o)}},15(r){r.exports=function(r){var e=document.createElement("style");return r.setAttributes(e,r.attributes),r.insert(e,r.options),e}},14(r,e,o){r.exports=function(r){var e=o.nc;e&&r.setAttribute("nonce",e)}},12(r){r.exports=function(r){if("u"<typeof document)return{update:function(){},remove:function(){}};var e=r.insertStyleElement(r);return{update:function(o){var t,n,a;t="",o.supports&&(t+="@supports (".concat(o.supports,") {")),o.media&&(t+="@media ".concat(o.media," {")),(n=void 0!==o.layer)&&(t+="@layer".concat(o.layer.length>0?" ".concat(o.layer):""," {")),t+=o.css,n&&(t+="}"),o.media&&(t+="}"),o.supports&&(t+="}"),(a=o.sourceMap)&&"u">typeof btoa&&(t+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),r.styleTagTransform(t,e,r.options)},remove:function(){var r;null===(r=e).parentNode||r.parentNode.removeChild(r)}}}},16(r){r.exports=function(r,e){if(e.styleSheet)e.styleSheet.cssText=r;else{for(;e.firstChild;)e.removeChild(e.firstChild);e.appendChild(document.createTextNode(r))}}},10(r,e,o){var t=o(11),n=o.n(t),a=o(12),i=o.n(a),c=o(13),p=o.n(c),l=o(14),s=o.n(l),d=o(15),u=o.n(d),f=o(16),v=o.n(f),m=o(17),h={};h.styleTagTransform=v(),h.setAttributes=s(),h.insert=p().bind(null,"head"),h.domAPI=i(),h.insertStyleElement=u(),n()(m.A,h),m.A&&m.A.locals&&m.A.locals}}]);